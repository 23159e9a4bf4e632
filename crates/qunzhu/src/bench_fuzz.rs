//! `qunzhu bench fuzz`: no-panic property tests of every parser of outside input, with arbitrary
//! and mutated input (byte flips, truncation, splices, huge numbers) and a panic caught per case.
//!
//! A target is a row of [`TARGETS`]: a name, valid seed documents to mutate, and a function
//! that feeds one input through the parser (and, when it is accepted, through what runs it).
//! Telegram updates and WeCom callbacks join the table as their connectors land.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{EventKind, GroupType, MessageKind, Platform, WorkspaceId};

/// One parser under test.
pub struct Target {
    pub name: &'static str,
    /// Valid inputs that mutations start from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Feeds one input; it must return, whatever the bytes.
    pub run: fn(&[u8]),
}

pub static TARGETS: &[Target] = &[
    Target {
        name: "rules",
        seeds: rule_seeds,
        run: run_rules,
    },
    Target {
        name: "sop-plan",
        seeds: plan_seeds,
        run: run_plan,
    },
    Target {
        name: "matrix-sync",
        seeds: sync_seeds,
        run: run_sync,
    },
    Target {
        name: "orders-webhook",
        seeds: order_seeds,
        run: run_order,
    },
    Target {
        name: "campaign",
        seeds: campaign_seeds,
        run: run_campaign,
    },
    Target {
        name: "matrix-id",
        seeds: matrix_id_seeds,
        run: run_matrix_id,
    },
    Target {
        name: "lottery-entries",
        seeds: entries_seeds,
        run: run_entries,
    },
    Target {
        name: "lottery-file",
        seeds: lottery_file_seeds,
        run: run_lottery_file,
    },
    Target {
        name: "landing-page",
        seeds: landing_seeds,
        run: run_landing,
    },
    Target {
        name: "phone",
        seeds: phone_seeds,
        run: run_phone,
    },
    Target {
        name: "race",
        seeds: race_seeds,
        run: run_race,
    },
];

fn race_seeds() -> Vec<Vec<u8>> {
    vec![qunzhu_growth::race_doc::EXAMPLE.as_bytes().to_vec()]
}

/// Checks a race document; an accepted one names the prize of its first and last rank.
fn run_race(input: &[u8]) {
    let source = String::from_utf8_lossy(input);
    if let Ok(race) =
        qunzhu_growth::race_doc::parse_race("fuzz", &source, chrono_tz::Asia::Shanghai)
    {
        let _ = race.spec.prize_for(1);
        let _ = race.spec.prize_for(race_last_rank(&race.spec));
    }
}

fn race_last_rank(spec: &qunzhu_growth::race::RaceSpec) -> u32 {
    spec.prizes.last().map_or(1, |tier| tier.to)
}

fn landing_seeds() -> Vec<Vec<u8>> {
    vec![
        qunzhu_growth::landing::EXAMPLE.as_bytes().to_vec(),
        b"title = \"t\"\n[top]\nheadline = \"h\"\nbait = \"b\"\ncta = \"c\"\n[bottom]\naction = \"join\"\ncta = \"go\"\nurl = \"/j/x\"\n".to_vec(),
    ]
}

/// Checks a landing page document; an accepted one is asked for its channels.
fn run_landing(input: &[u8]) {
    if let Ok(page) = qunzhu_growth::parse_landing("fuzz", &String::from_utf8_lossy(input)) {
        let _ = page.channel(page.channels.first().map(String::as_str));
    }
}

fn phone_seeds() -> Vec<Vec<u8>> {
    [
        "13812345678",
        "+86 138-1234-5678",
        "+44 20 7946 0958",
        "008613812345678",
    ]
    .iter()
    .map(|seed| seed.as_bytes().to_vec())
    .collect()
}

/// A visitor's phone as the landing page reads it, then masked.
fn run_phone(input: &[u8]) {
    if let Ok(phone) = qunzhu_growth::Phone::parse(&String::from_utf8_lossy(input)) {
        let _ = phone.masked();
    }
    let _ = qunzhu_growth::phone::mask(&String::from_utf8_lossy(input));
}

fn order_seeds() -> Vec<Vec<u8>> {
    [
        r#"{"order_id":"o1","member":{"platform":"telegram","user":"42"},"amount_cents":9900,"currency":"CNY","items":["tea","cup"],"coupon":"QZ-1","link_token":"L1"}"#,
        r#"{"order_id":"r1","member":{"code":"amy-1"},"amount_cents":-100,"currency":"CNY","refund_of":"o1"}"#,
    ]
    .iter()
    .map(|seed| seed.as_bytes().to_vec())
    .collect()
}

/// The webhook's body parser, and the signature check over the same bytes.
fn run_order(input: &[u8]) {
    let _ = qunzhu_server::orders_hook::parse_order(input);
    let hook = qunzhu_server::orders_hook::OrdersHook::new(
        WorkspaceId(1),
        "fuzz",
        qunzhu_ops::OrderPolicy::default(),
    );
    let mut headers = axum::http::HeaderMap::new();
    let text = String::from_utf8_lossy(input);
    for (name, value) in [
        (
            qunzhu_server::orders_hook::TIMESTAMP_HEADER,
            text.chars().take(24).collect::<String>(),
        ),
        (
            qunzhu_server::orders_hook::NONCE_HEADER,
            text.chars().rev().take(24).collect(),
        ),
        (
            qunzhu_server::orders_hook::SIGNATURE_HEADER,
            format!("sha256={text}"),
        ),
    ] {
        if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    let _ = hook.verify(&headers, input, DateTime::UNIX_EPOCH);
}

fn campaign_seeds() -> Vec<Vec<u8>> {
    let starts = instant(1_790_000_000);
    let ends = instant(1_800_000_000);
    let groups = ["!g:x".to_string()];
    ["invite_ten", "join_gift_both"]
        .iter()
        .filter_map(|id| {
            qunzhu_growth::templates::template_source(id, false, "matrix", &groups, starts, ends)
        })
        .map(String::into_bytes)
        .collect()
}

/// Checks the campaign; an accepted one runs a book through joins, posts, leaves and ticks at
/// instants near the ends of the calendar, so overflowing timer arithmetic is found too.
fn run_campaign(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let Ok(campaign) = qunzhu_growth::parse_campaign("fuzz", &text) else {
        return;
    };
    let chat = campaign.groups.first().cloned().unwrap_or_default();
    let mut book = qunzhu_growth::Book::new(campaign, Vec::new(), Vec::new());
    for (index, at) in [
        DateTime::<Utc>::MIN_UTC,
        instant(1_790_000_000),
        DateTime::<Utc>::MAX_UTC,
    ]
    .into_iter()
    .enumerate()
    {
        let invitee = format!("@i{index}:x");
        book.join(qunzhu_growth::Join {
            chat: chat.clone(),
            invitee: invitee.clone(),
            inviter: "@a:x".into(),
            display_name: Some("AAA".into()),
            elsewhere: index == 1,
            at,
        });
        book.posted(&chat, &invitee, at);
        book.tick(at);
        book.left(&chat, &invitee, at);
        book.tick(at);
    }
}

fn matrix_id_seeds() -> Vec<Vec<u8>> {
    vec![b"@alice:example.org".to_vec(), b"@bob:[::1]:8448".to_vec()]
}

fn run_matrix_id(input: &[u8]) {
    let _ = qunzhu_ops::parse_matrix_id(&String::from_utf8_lossy(input));
}

fn entries_seeds() -> Vec<Vec<u8>> {
    vec![
        b"# exported\n@a:hs 3\n@b:hs\t1\n".to_vec(),
        b"@c 4294967295\n@d 0 # none\n".to_vec(),
    ]
}

/// An entry list as `qunzhu lottery verify --entries` reads it, then drawn.
fn run_entries(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok(entries) = qunzhu_growth::lottery::parse_entries(&text) {
        let seed = qunzhu_growth::lottery::Seed::from_bytes([7; 32]);
        let _ = qunzhu_growth::lottery::draw(&seed, &entries, 5);
    }
}

fn lottery_file_seeds() -> Vec<Vec<u8>> {
    vec![crate::lottery::INVITE_TEMPLATE.as_bytes().to_vec()]
}

/// A lottery file as `qunzhu lottery create` reads it, then checked.
fn run_lottery_file(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok(file) = crate::lottery::parse_file(&text) {
        let _ = qunzhu_growth::lottery::check_prizes(&file.prizes, Some(("pool", 1000)));
        for rule in &file.rules {
            let _ = rule.validate("rules");
        }
        let _ = qunzhu_growth::lottery::winners_wanted(&file.prizes);
    }
}

/// What one target did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FuzzReport {
    pub target: &'static str,
    pub cases: usize,
    pub panics: usize,
    /// The first panic's message and the input that caused it (lossy UTF-8), to reproduce it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_panic: Option<(String, String)>,
}

/// Runs `cases` inputs through `target`, deterministically from `seed`.
pub fn fuzz(target: &Target, cases: usize, seed: u64) -> FuzzReport {
    let seeds = (target.seeds)();
    let mut random = Random(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut report = FuzzReport {
        target: target.name,
        cases: 0,
        panics: 0,
        first_panic: None,
    };
    for case in 0..cases {
        let input = if case < seeds.len() {
            seeds[case].clone()
        } else {
            mutate(&seeds, &mut random)
        };
        report.cases += 1;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (target.run)(&input))) {
            report.panics += 1;
            if report.first_panic.is_none() {
                report.first_panic = Some((
                    qunzhu_engine::supervise::panic_message(payload),
                    String::from_utf8_lossy(&input).into_owned(),
                ));
            }
        }
    }
    report
}

/// `qunzhu bench fuzz`: every target (or one), one JSON line each with `--json`.
pub fn run(cases: usize, json: bool, only: Option<String>, seed: u64) -> anyhow::Result<()> {
    let chosen: Vec<&Target> = TARGETS
        .iter()
        .filter(|target| only.as_deref().is_none_or(|name| name == target.name))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = TARGETS.iter().map(|target| target.name).collect();
        anyhow::bail!(
            "unknown fuzz target `{}`; targets: {}",
            only.unwrap_or_default(),
            names.join(", ")
        );
    }
    // Panics are counted, not printed: silence the default hook while fuzzing.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for target in chosen {
        let report = fuzz(target, cases, seed);
        failed |= report.panics > 0;
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!(
                "{:<12} {:>9} cases {:>6} panics",
                report.target, report.cases, report.panics
            );
            if let Some((message, input)) = &report.first_panic {
                println!("  first panic: {message}\n  input: {input:?}");
            }
        }
    }
    std::panic::set_hook(previous);
    if failed {
        anyhow::bail!("a parser panicked");
    }
    Ok(())
}

/// xorshift64*: small, fast and reproducible from a seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

/// Pieces that parsers of numbers, durations, dates and structure trip on.
const TOKENS: &[&str] = &[
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "100000000w",
    "9300000000000000s",
    "1e308",
    "-1",
    "0",
    "NaN",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    ":",
    "\n",
    "\\u0000",
    "\u{200B}",
    "群",
    "💥",
    "9999-12-31",
    "0000-01-01",
    "24:00",
    "23:59:60",
    "last",
    "null",
    "true",
    "\"rooms\"",
    "\"join\"",
    "\"timeline\"",
    "\"origin_server_ts\": 99999999999999999",
    "\"origin_server_ts\": -99999999999999999",
];

fn mutate(seeds: &[Vec<u8>], random: &mut Random) -> Vec<u8> {
    // One case in sixteen is arbitrary bytes; the rest are mutated valid documents.
    if random.below(16) == 0 {
        let length = random.below(512);
        return (0..length).map(|_| random.next() as u8).collect();
    }
    let mut bytes = seeds[random.below(seeds.len())].clone();
    let rounds = 1 + random.below(4);
    for _ in 0..rounds {
        let at = random.below(bytes.len() + 1);
        match random.below(7) {
            0 if !bytes.is_empty() => {
                let index = at.min(bytes.len() - 1);
                bytes[index] ^= 1 << random.below(8);
            }
            1 => bytes.truncate(at),
            2 => {
                let token = TOKENS[random.below(TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
            3 => {
                // Replace a run of digits (or anything) with a huge number.
                let end = (at + 1 + random.below(8)).min(bytes.len());
                let token = TOKENS[random.below(9)];
                bytes.splice(at..end, token.bytes());
            }
            4 => {
                let end = (at + random.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            5 => {
                let start = random.below(bytes.len() + 1);
                let end = (start + random.below(128)).min(bytes.len());
                let copy: Vec<u8> = bytes[start..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => {
                let value = random.next() as u8;
                bytes.insert(at, value);
            }
        }
    }
    bytes
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

fn rule_seeds() -> Vec<Vec<u8>> {
    vec![
        include_bytes!("../../moderation/examples/rules.toml").to_vec(),
        b"[settings]\nwarn_decay = \"7d\"\n[[rules]]\nname = \"f\"\nkind = \"flood\"\ncount = 3\nwithin = \"10s\"\nactions = \"mute 10m\"\n[profiles.p]\ndefault = true\nrules = [\"f\"]\n[lurker.l]\nsilent_days = 28\n".to_vec(),
    ]
}

/// Checks the rule file; an accepted one is run over a few messages at instants near the ends
/// of the calendar, so overflowing arithmetic in what runs the rules is found too.
fn run_rules(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let Ok(rules) = qunzhu_moderation::check(&text, "fuzz.toml") else {
        return;
    };
    let mut guardian = qunzhu_moderation::Guardian::new(Arc::new(rules));
    let group = qunzhu_moderation::GroupFacts {
        name: "g".into(),
        group_type: GroupType::Traffic,
    };
    for at in [
        instant(1_800_000_000),
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
    ] {
        let who = qunzhu_moderation::MemberFacts {
            joined_at: Some(at),
            ..qunzhu_moderation::MemberFacts::newcomer()
        };
        for index in 0..4 {
            let event = qunzhu_domain::Event {
                workspace: WorkspaceId(1),
                platform: Platform::Matrix,
                key: format!("m{index}"),
                chat: "!g:x".into(),
                at,
                kind: EventKind::MessagePosted {
                    member: "@u:x".into(),
                    message_id: format!("m{index}"),
                    text: "加微信 AAA http://spam.example/x".into(),
                    links: Vec::new(),
                    mentions: Vec::new(),
                    reply_to: None,
                    message_kind: MessageKind::Text,
                    from_bot: false,
                },
            };
            guardian.on_event(&event, &group, &who, at);
        }
        guardian.tick(at);
    }
    let policy = guardian
        .rules()
        .profile_for("!g:x", GroupType::Traffic)
        .and_then(|profile| profile.lurker.clone());
    if let Some(policy) = policy {
        let now = instant(1_800_000_000);
        let roster = [qunzhu_moderation::RosterEntry {
            member: "@u:x".into(),
            display_name: String::new(),
            role: qunzhu_domain::MemberRole::Member,
            tier: qunzhu_domain::MemberTier::Regular,
            joined_at: DateTime::<Utc>::MIN_UTC,
            last_spoke_at: None,
        }];
        let _ = qunzhu_moderation::lurker_report(&policy, &roster, now);
    }
}

fn plan_seeds() -> Vec<Vec<u8>> {
    let target = qunzhu_sop::plan::Target {
        all: true,
        chats: Vec::new(),
        group_types: Vec::new(),
        tags: Vec::new(),
    };
    let mut seeds: Vec<Vec<u8>> = qunzhu_sop::templates()
        .iter()
        .map(|template| {
            template
                .to_toml(target.clone(), chrono_tz::Asia::Shanghai)
                .into_bytes()
        })
        .collect();
    seeds.push(
        br#"{"target": {"all": true}, "steps": [{"id": "m", "repeat": "weekly", "weekdays": ["mon"], "at": "08:00", "text": "hi {group}"}]}"#
            .to_vec(),
    );
    seeds
}

/// Parses a plan (TOML, or JSON when it starts with `{`); an accepted one is materialized
/// over a week for two groups.
fn run_plan(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let Ok(plan) = qunzhu_sop::parse_plan(&text, "fuzz.toml") else {
        return;
    };
    let created = instant(1_790_000_000);
    let groups = [
        qunzhu_sop::GroupFacts::new("!a:x", "a", GroupType::CheckIn, created),
        qunzhu_sop::GroupFacts::new("!b:x", "b", GroupType::Flash, created),
    ];
    let from = instant(1_800_000_000);
    for occurrence in qunzhu_sop::materialize(&plan, &groups, from, from + Duration::days(7)) {
        let _ = occurrence.expires_at();
    }
}

fn sync_seeds() -> Vec<Vec<u8>> {
    let member = |user: &str, membership: &str, ts: i64| serde_json::json!({"type": "m.room.member", "state_key": user, "sender": user, "event_id": format!("$m-{user}-{ts}"), "origin_server_ts": ts, "content": {"membership": membership, "displayname": "上海-小王"}});
    let message = |body: &str, ts: i64| serde_json::json!({"type": "m.room.message", "sender": "@u:x", "event_id": format!("$t{ts}"), "origin_server_ts": ts, "content": {"msgtype": "m.text", "body": body, "m.mentions": {"user_ids": ["@a:x"]}}});
    let answer = serde_json::json!({
        "next_batch": "s1",
        "rooms": {
            "join": {
                "!g:x": {
                    "state": {"events": [member("@bot:example.org", "join", 1_700_000_000_000_i64), serde_json::json!({"type": "m.room.power_levels", "state_key": "", "sender": "@admin:x", "event_id": "$p", "origin_server_ts": 1, "content": {"users": {"@bot:example.org": 100}}})]},
                    "timeline": {"events": [
                        member("@u:x", "join", 1_700_000_001_000),
                        message("大家好 https://spam.example/x", 1_700_000_002_000),
                        member("@u:x", "leave", 1_700_000_003_000),
                        member("@k:x", "knock", 1_700_000_004_000),
                        serde_json::json!({"type": "m.room.redaction", "sender": "@admin:x", "event_id": "$r", "redacts": "$t1", "origin_server_ts": 1_700_000_005_000_i64, "content": {}}),
                    ]}
                }
            },
            "invite": {"!i:x": {"invite_state": {"events": []}}}
        }
    });
    vec![answer.to_string().into_bytes()]
}

fn run_sync(input: &[u8]) {
    let _ = qunzhu_matrix::fuzz_sync(input);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test suite's sample: a few thousand cases per target, fast; `qunzhu bench fuzz`
    /// runs the large figure (100k per target).
    #[test]
    fn no_parser_panics_on_a_sample() {
        for target in TARGETS {
            let report = fuzz(target, 2_000, 7);
            assert_eq!(report.cases, 2_000);
            assert_eq!(
                report.panics, 0,
                "{}: first panic {:?}",
                report.target, report.first_panic
            );
        }
    }

    #[test]
    fn every_seed_is_valid_so_mutations_start_from_accepted_input() {
        for seed in rule_seeds() {
            let text = String::from_utf8_lossy(&seed).into_owned();
            assert!(qunzhu_moderation::check(&text, "seed.toml").is_ok());
        }
        for seed in plan_seeds() {
            let text = String::from_utf8_lossy(&seed).into_owned();
            assert!(qunzhu_sop::parse_plan(&text, "seed.toml").is_ok(), "{text}");
        }
        for seed in sync_seeds() {
            assert!(qunzhu_matrix::fuzz_sync(&seed) > 0);
        }
        for seed in order_seeds() {
            assert!(qunzhu_server::orders_hook::parse_order(&seed).is_ok());
        }
        for seed in entries_seeds() {
            let text = String::from_utf8_lossy(&seed).into_owned();
            assert!(
                qunzhu_growth::lottery::parse_entries(&text).is_ok(),
                "{text}"
            );
        }
        for seed in lottery_file_seeds() {
            let text = String::from_utf8_lossy(&seed).into_owned();
            assert!(crate::lottery::parse_file(&text).is_ok());
        }
    }

    #[test]
    fn the_harness_counts_a_panic() {
        fn explode(input: &[u8]) {
            if input.len() > 3 {
                panic!("too long");
            }
        }
        fn seeds() -> Vec<Vec<u8>> {
            vec![b"abcd".to_vec()]
        }
        let target = Target {
            name: "explodes",
            seeds,
            run: explode,
        };
        let report = fuzz(&target, 50, 1);
        assert!(report.panics > 0);
        assert_eq!(
            report.first_panic.map(|(message, _)| message),
            Some("too long".to_string())
        );
    }
}
