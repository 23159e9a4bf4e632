//! The lottery (抽奖): chances earned per invite, per check-in or per point spent, and an auditable
//! draw anyone can re-run.
//!
//! The draw is commit-and-reveal: a random [`Seed`] is generated when the lottery opens and only
//! its SHA-256 [`Seed::commitment`] is posted in the group before entries close; after the draw the
//! seed itself is posted. The winners are a pure function of the seed and the entries sorted by
//! member ([`draw`]), so `qunzhu lottery verify` given the revealed seed and the entry list prints
//! the same winners, and anyone can check the seed against the hash posted earlier.
//!
//! The procedure, so it can be re-implemented outside qunzhu: sort the entries by member id
//! (bytewise), drop those with zero chances; lay out tickets in that order, each member owning
//! `chances` consecutive ticket numbers. For winner `i` (0-based) and attempt `j` (0-based),
//! `h = SHA-256(seed bytes ‖ "qunzhu-lottery" ‖ i as u32 big-endian ‖ j as u32 big-endian)`;
//! `r` = the first 8 bytes of `h` as a big-endian u64; if `r` falls in the last partial block
//! (`r >= u64::MAX - u64::MAX % total`) try the next `j`, else the ticket `r % total` wins. The
//! winning member's tickets are removed and the next winner is drawn from the rest, so a member wins
//! at most once.

use std::collections::BTreeMap;

use qunzhu_domain::CouponOffer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a lottery rejects, each saying what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LotteryError {
    #[error("the lottery closes at {closes_at}; it cannot be drawn before then (now {now})")]
    NotClosed {
        closes_at: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    },
    #[error("the lottery was already drawn")]
    AlreadyDrawn,
    #[error("the prize pool `{pool}` holds {available} points but the prizes need {needed}")]
    PoolCannotCover {
        pool: String,
        needed: i64,
        available: i64,
    },
    #[error("{field}: {message}")]
    BadSpec { field: String, message: String },
    #[error("seed: {message}")]
    BadSeed { message: String },
    #[error("line {line}:{column}: {message}")]
    BadEntries {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("no entry has a chance: nobody can win")]
    NoEntries,
}

/// The lottery's secret, 32 random bytes, shown as 64 hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed([u8; 32]);

impl std::fmt::Debug for Seed {
    // The seed is secret until the draw; a log line must not reveal it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(…)")
    }
}

impl Seed {
    /// A seed from bytes the caller drew from a secure random source (the engine uses `rand`).
    pub fn from_bytes(bytes: [u8; 32]) -> Seed {
        Seed(bytes)
    }

    /// Parses 64 hex digits (either case).
    pub fn parse(text: &str) -> Result<Seed, LotteryError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(LotteryError::BadSeed {
                message: format!("expected 64 hex digits, got {} characters", text.len()),
            });
        }
        let mut bytes = [0u8; 32];
        for (index, chunk) in text.as_bytes().chunks(2).enumerate() {
            let digits = std::str::from_utf8(chunk).unwrap_or("");
            bytes[index] = u8::from_str_radix(digits, 16).map_err(|_| LotteryError::BadSeed {
                message: format!(
                    "`{digits}` at character {} is not a hex digit pair",
                    index * 2 + 1
                ),
            })?;
        }
        Ok(Seed(bytes))
    }

    /// The seed as 64 lower-case hex digits: what is revealed after the draw.
    pub fn reveal(&self) -> String {
        hex(&self.0)
    }

    /// SHA-256 of the seed's 32 bytes, as hex: what is published before entries close.
    pub fn commitment(&self) -> String {
        hex(&Sha256::digest(self.0))
    }

    /// Whether this seed is the one a published commitment promised.
    pub fn matches(&self, commitment: &str) -> bool {
        self.commitment().eq_ignore_ascii_case(commitment.trim())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How members earn chances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "per", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChanceRule {
    /// `chances` for every counted invite (001: 每邀请 1 人 = 1 次抽奖机会).
    Invite { chances: u32 },
    /// `chances` for every check-in.
    CheckIn { chances: u32 },
    /// One chance for every `points` points the member spends through the ledger.
    Points { points: i64 },
}

impl ChanceRule {
    pub fn validate(&self, field: &str) -> Result<(), LotteryError> {
        let bad = |message: &str| {
            Err(LotteryError::BadSpec {
                field: field.to_string(),
                message: message.to_string(),
            })
        };
        match self {
            ChanceRule::Invite { chances: 0 } | ChanceRule::CheckIn { chances: 0 } => {
                bad("chances must be at least 1")
            }
            ChanceRule::Points { points } if *points <= 0 => {
                bad("points per chance must be positive")
            }
            _ => Ok(()),
        }
    }
}

/// What one member did during the lottery's window, from the read models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberFacts {
    pub invites: u32,
    pub check_ins: u32,
    /// Points spent on this lottery (entries posted with reason `spend`).
    pub points_spent: i64,
}

/// A member's chances under the lottery's rules (saturating, never negative).
pub fn chances(rules: &[ChanceRule], facts: MemberFacts) -> u32 {
    rules.iter().fold(0u32, |sum, rule| {
        let earned = match *rule {
            ChanceRule::Invite { chances } => facts.invites.saturating_mul(chances),
            ChanceRule::CheckIn { chances } => facts.check_ins.saturating_mul(chances),
            ChanceRule::Points { points } if points > 0 => {
                u32::try_from(facts.points_spent.max(0) / points).unwrap_or(u32::MAX)
            }
            ChanceRule::Points { .. } => 0,
        };
        sum.saturating_add(earned)
    })
}

/// What a winner gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Prize {
    Points {
        points: i64,
    },
    Coupon {
        offer: CouponOffer,
        valid_days: Option<u32>,
    },
}

impl Prize {
    /// How the bot names it in the group.
    pub fn describe(&self) -> String {
        match self {
            Prize::Points { points } => format!("{points} 积分"),
            Prize::Coupon { offer, .. } => offer.describe(),
        }
    }
}

/// A prize tier: `count` winners each get `prize` (一等奖 1 名 500 积分).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrizeTier {
    pub name: String,
    pub count: u32,
    pub prize: Prize,
}

/// Checks the tiers and that the pool paying the point prizes can cover them all.
///
/// `pool` is the reward pool's name and current balance when points come from a pool; without
/// one, points are issued (like check-in rewards) and nothing needs covering.
pub fn check_prizes(tiers: &[PrizeTier], pool: Option<(&str, i64)>) -> Result<(), LotteryError> {
    if tiers.is_empty() {
        return Err(LotteryError::BadSpec {
            field: "prizes".into(),
            message: "a lottery needs at least one prize tier".into(),
        });
    }
    let mut needed: i64 = 0;
    for (index, tier) in tiers.iter().enumerate() {
        let field = |name: &str| format!("prizes[{index}].{name}");
        let bad = |name: &str, message: String| LotteryError::BadSpec {
            field: field(name),
            message,
        };
        if tier.name.trim().is_empty() {
            return Err(bad("name", "must name the tier".into()));
        }
        if tier.count == 0 {
            return Err(bad("count", "must be at least 1".into()));
        }
        match &tier.prize {
            Prize::Points { points } if *points <= 0 => {
                return Err(bad(
                    "prize.points",
                    format!("must be positive, got {points}"),
                ));
            }
            Prize::Points { points } => {
                needed = needed.saturating_add(points.saturating_mul(i64::from(tier.count)));
            }
            Prize::Coupon { offer, .. } => offer
                .validate()
                .map_err(|error| bad("prize.offer", error.to_string()))?,
        }
    }
    if let Some((name, available)) = pool {
        if needed > available {
            return Err(LotteryError::PoolCannotCover {
                pool: name.to_string(),
                needed,
                available,
            });
        }
    }
    Ok(())
}

/// Every winner the tiers call for, in order.
pub fn winners_wanted(tiers: &[PrizeTier]) -> u32 {
    tiers
        .iter()
        .fold(0u32, |sum, tier| sum.saturating_add(tier.count))
}

/// One member's entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub member: String,
    pub chances: u32,
}

/// The entries as the draw sees them: one per member, sorted, none without a chance. Duplicates
/// are summed (chances from two sources), so the input's order never matters.
pub fn normalize(entries: &[Entry]) -> Vec<Entry> {
    let mut by_member: BTreeMap<&str, u32> = BTreeMap::new();
    for entry in entries {
        let sum = by_member.entry(entry.member.as_str()).or_insert(0);
        *sum = sum.saturating_add(entry.chances);
    }
    by_member
        .into_iter()
        .filter(|(_, chances)| *chances > 0)
        .map(|(member, chances)| Entry {
            member: member.to_string(),
            chances,
        })
        .collect()
}

/// Which entry (index into `sorted`) owns ticket number `ticket`.
pub fn ticket_owner(sorted: &[Entry], ticket: u64) -> Option<usize> {
    let mut start = 0u64;
    for (index, entry) in sorted.iter().enumerate() {
        let end = start + u64::from(entry.chances);
        if ticket < end {
            return Some(index);
        }
        start = end;
    }
    None
}

/// A number in `0..total` from the seed for winner `round`, without modulo bias.
fn pick(seed: &Seed, round: u32, total: u64) -> u64 {
    let limit = u64::MAX - u64::MAX % total;
    let mut attempt: u32 = 0;
    loop {
        let mut hasher = Sha256::new();
        hasher.update(seed.0);
        hasher.update(b"qunzhu-lottery");
        hasher.update(round.to_be_bytes());
        hasher.update(attempt.to_be_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let value = u64::from_be_bytes(first);
        // The chance of a retry is below total / 2^64, so this loop ends at once in practice.
        if value < limit {
            return value % total;
        }
        attempt = attempt.wrapping_add(1);
    }
}

/// The winners, in draw order: at most `wanted`, each member at most once. A pure function of
/// the seed and the entries (any order; see the module doc for the procedure).
pub fn draw(seed: &Seed, entries: &[Entry], wanted: u32) -> Vec<String> {
    let mut left = normalize(entries);
    let mut winners = Vec::new();
    for round in 0..wanted {
        let total: u64 = left.iter().map(|entry| u64::from(entry.chances)).sum();
        if total == 0 {
            break;
        }
        let ticket = pick(seed, round, total);
        let Some(index) = ticket_owner(&left, ticket) else {
            break;
        };
        winners.push(left.remove(index).member);
    }
    winners
}

/// Winners matched with their tier: the first `count` of the draw order get the first tier.
pub fn award<'a>(tiers: &'a [PrizeTier], winners: &[String]) -> Vec<(String, &'a PrizeTier)> {
    let mut slots = tiers
        .iter()
        .flat_map(|tier| std::iter::repeat_n(tier, tier.count as usize));
    winners
        .iter()
        .filter_map(|winner| slots.next().map(|tier| (winner.clone(), tier)))
        .collect()
}

/// Reads an entry list: one `member chances` per line (space or tab), `#` starts a comment. The
/// same member twice is an error, since an exported list has each member once.
pub fn parse_entries(text: &str) -> Result<Vec<Entry>, LotteryError> {
    let mut out: Vec<Entry> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (number, raw) in text.lines().enumerate() {
        let line = number + 1;
        let content = raw.split('#').next().unwrap_or("");
        if content.trim().is_empty() {
            continue;
        }
        let bad = |column: usize, message: String| LotteryError::BadEntries {
            line,
            column,
            message,
        };
        let mut fields = content
            .char_indices()
            .filter(|(i, c)| {
                !c.is_whitespace()
                    && (*i == 0
                        || content[..*i]
                            .chars()
                            .last()
                            .is_some_and(char::is_whitespace))
            })
            .map(|(i, _)| {
                let word = content[i..].split_whitespace().next().unwrap_or("");
                (content[..i].chars().count() + 1, word)
            });
        let Some((member_column, member)) = fields.next() else {
            continue;
        };
        let Some((chances_column, chances)) = fields.next() else {
            return Err(bad(
                member_column + member.chars().count(),
                format!("`{member}` has no chance count; write `{member} 3`"),
            ));
        };
        if let Some((column, extra)) = fields.next() {
            return Err(bad(
                column,
                format!("unexpected `{extra}` after the chance count"),
            ));
        }
        let chances: u32 = chances.parse().map_err(|_| {
            bad(
                chances_column,
                format!("`{chances}` is not a chance count (a whole number 0 to 4294967295)"),
            )
        })?;
        if let Some(first) = seen.insert(member.to_string(), line) {
            return Err(bad(
                member_column,
                format!("`{member}` is listed twice (first on line {first})"),
            ));
        }
        out.push(Entry {
            member: member.to_string(),
            chances,
        });
    }
    Ok(out)
}

/// The entry list as [`parse_entries`] reads it, sorted: what `qunzhu lottery entries` exports.
pub fn format_entries(entries: &[Entry]) -> String {
    normalize(entries)
        .iter()
        .map(|entry| format!("{} {}\n", entry.member, entry.chances))
        .collect()
}

/// Drawing is allowed only once, and only after the lottery has closed.
pub fn check_draw(
    closes_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    drawn: bool,
) -> Result<(), LotteryError> {
    if drawn {
        return Err(LotteryError::AlreadyDrawn);
    }
    if now < closes_at {
        return Err(LotteryError::NotClosed { closes_at, now });
    }
    Ok(())
}

/// The group message that commits to the seed, posted when the lottery opens.
pub fn commitment_text(name: &str, commitment: &str, closes_at_local: &str) -> String {
    format!(
        "🎁 抽奖「{name}」已开始，{closes_at_local} 截止。\n开奖种子的 SHA-256：{commitment}\n开奖后公布种子，任何人都可以用 `qunzhu lottery verify` 复核中奖名单。"
    )
}

/// The group message after the draw: the seed revealed and the winners.
pub fn result_text(
    name: &str,
    seed: &Seed,
    awarded: &[(String, &PrizeTier)],
    entrants: usize,
) -> String {
    let mut text = format!("🎉 抽奖「{name}」开奖（{entrants} 人参与）。\n");
    if awarded.is_empty() {
        text.push_str("本期没有人中奖。\n");
    }
    for (member, tier) in awarded {
        text.push_str(&format!(
            "{}：{member} — {}\n",
            tier.name,
            tier.prize.describe()
        ));
    }
    text.push_str(&format!("种子：{}", seed.reveal()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seed(byte: u8) -> Seed {
        Seed::from_bytes([byte; 32])
    }

    fn entry(member: &str, chances: u32) -> Entry {
        Entry {
            member: member.into(),
            chances,
        }
    }

    #[test]
    fn the_commitment_is_the_sha256_of_the_seed_bytes() {
        // SHA-256 of 32 zero bytes, a published test vector.
        assert_eq!(
            seed(0).commitment(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        let parsed = Seed::parse(&seed(0xab).reveal()).unwrap();
        assert_eq!(parsed, seed(0xab));
        assert!(parsed.matches(&seed(0xab).commitment().to_uppercase()));
        assert!(!parsed.matches(&seed(0).commitment()));
    }

    #[test]
    fn a_bad_seed_says_what_is_wrong() {
        for (text, expected) in [
            ("abc", "seed: expected 64 hex digits, got 3 characters"),
            (
                &format!("{}zz", "0".repeat(62)),
                "seed: `zz` at character 63 is not a hex digit pair",
            ),
        ] {
            assert_eq!(Seed::parse(text).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn the_draw_is_pinned_so_other_implementations_can_check_against_it() {
        let entries = [
            entry("@a", 1),
            entry("@b", 2),
            entry("@c", 3),
            entry("@d", 0),
        ];
        let winners = draw(&seed(7), &entries, 3);
        assert_eq!(winners.len(), 3);
        assert!(!winners.contains(&"@d".to_string()), "no chance, no win");
        // Pinned to the module doc's procedure, computed independently (a dozen lines of Python
        // with hashlib): a change to the procedure must be a conscious, documented one.
        assert_eq!(winners, ["@c", "@a", "@b"]);
    }

    #[test]
    fn chances_follow_the_rules() {
        let rules = [
            ChanceRule::Invite { chances: 1 },
            ChanceRule::CheckIn { chances: 2 },
            ChanceRule::Points { points: 100 },
        ];
        for (facts, expected) in [
            (MemberFacts::default(), 0),
            (
                MemberFacts {
                    invites: 3,
                    ..Default::default()
                },
                3,
            ),
            (
                MemberFacts {
                    check_ins: 2,
                    points_spent: 250,
                    ..Default::default()
                },
                6,
            ),
            (
                MemberFacts {
                    points_spent: -50,
                    ..Default::default()
                },
                0,
            ),
        ] {
            assert_eq!(chances(&rules, facts), expected, "{facts:?}");
        }
        assert!(ChanceRule::Points { points: 0 }
            .validate("rules[2]")
            .is_err());
    }

    #[test]
    fn prizes_a_pool_cannot_cover_are_refused() {
        let tiers = vec![
            PrizeTier {
                name: "一等奖".into(),
                count: 1,
                prize: Prize::Points { points: 500 },
            },
            PrizeTier {
                name: "二等奖".into(),
                count: 3,
                prize: Prize::Points { points: 100 },
            },
        ];
        assert_eq!(winners_wanted(&tiers), 4);
        assert!(check_prizes(&tiers, Some(("spring", 800))).is_ok());
        assert_eq!(
            check_prizes(&tiers, Some(("spring", 799)))
                .unwrap_err()
                .to_string(),
            "the prize pool `spring` holds 799 points but the prizes need 800"
        );
        assert!(
            check_prizes(&tiers, None).is_ok(),
            "issued points need no pool"
        );
        let mut zero = tiers.clone();
        zero[1].count = 0;
        assert_eq!(
            check_prizes(&zero, None).unwrap_err().to_string(),
            "prizes[1].count: must be at least 1"
        );
        assert!(check_prizes(&[], None).is_err());
    }

    #[test]
    fn drawing_before_the_close_or_twice_is_refused() {
        let closes = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let before = closes - chrono::Duration::seconds(1);
        assert!(matches!(
            check_draw(closes, before, false),
            Err(LotteryError::NotClosed { .. })
        ));
        assert_eq!(check_draw(closes, closes, false), Ok(()));
        assert_eq!(
            check_draw(closes, closes, true),
            Err(LotteryError::AlreadyDrawn)
        );
    }

    #[test]
    fn winners_get_the_tiers_in_draw_order() {
        let tiers = vec![
            PrizeTier {
                name: "一等奖".into(),
                count: 1,
                prize: Prize::Points { points: 500 },
            },
            PrizeTier {
                name: "二等奖".into(),
                count: 2,
                prize: Prize::Points { points: 100 },
            },
        ];
        let winners: Vec<String> = ["@x", "@y"].map(String::from).to_vec();
        let awarded = award(&tiers, &winners);
        assert_eq!(awarded[0].1.name, "一等奖");
        assert_eq!(awarded[1].1.name, "二等奖");
        assert_eq!(awarded.len(), 2, "fewer entrants than prizes");
    }

    #[test]
    fn entry_files_are_read_with_positions_in_errors() {
        let good = "# exported\n@a:hs 3\n\t@b:hs\t1  # late\n\n";
        assert_eq!(
            parse_entries(good).unwrap(),
            vec![entry("@a:hs", 3), entry("@b:hs", 1)]
        );
        for (text, expected) in [
            (
                "@a 3\n@b",
                "line 2:3: `@b` has no chance count; write `@b 3`",
            ),
            (
                "@a x",
                "line 1:4: `x` is not a chance count (a whole number 0 to 4294967295)",
            ),
            ("@a 1 2", "line 1:6: unexpected `2` after the chance count"),
            (
                "@a 1\n  @a 2",
                "line 2:3: `@a` is listed twice (first on line 1)",
            ),
            (
                "@a -1",
                "line 1:4: `-1` is not a chance count (a whole number 0 to 4294967295)",
            ),
        ] {
            assert_eq!(
                parse_entries(text).unwrap_err().to_string(),
                expected,
                "{text}"
            );
        }
        let entries = [entry("@b", 1), entry("@a", 2), entry("@z", 0)];
        assert_eq!(format_entries(&entries), "@a 2\n@b 1\n");
        assert_eq!(
            parse_entries(&format_entries(&entries)).unwrap(),
            normalize(&entries)
        );
    }

    #[test]
    fn a_member_with_more_chances_wins_proportionally_more() {
        // Deterministic (fixed seeds), so it cannot flake; 3:1 within a wide margin.
        let entries = [entry("@one", 1), entry("@three", 3)];
        let wins_of_three = (0u8..=255)
            .flat_map(|a| (0u8..8).map(move |b| (a, b)))
            .filter(|(a, b)| {
                let mut bytes = [0u8; 32];
                bytes[0] = *a;
                bytes[1] = *b;
                draw(&Seed::from_bytes(bytes), &entries, 1) == ["@three"]
            })
            .count();
        // 2048 draws, expectation 1536.
        assert!((1436..=1636).contains(&wins_of_three), "{wins_of_three}");
    }

    fn entries_strategy() -> impl Strategy<Value = Vec<Entry>> {
        proptest::collection::btree_map("@[a-z]{1,6}", 0u32..6, 0..12).prop_map(|members| {
            members
                .into_iter()
                .map(|(member, chances)| Entry { member, chances })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_draw_is_deterministic_and_ignores_input_order(
            bytes in proptest::array::uniform32(any::<u8>()),
            entries in entries_strategy(),
            wanted in 0u32..8,
            rotate in 0usize..12,
        ) {
            let seed = Seed::from_bytes(bytes);
            let winners = draw(&seed, &entries, wanted);
            let mut shuffled = entries.clone();
            shuffled.reverse();
            if !shuffled.is_empty() {
                let by = rotate % shuffled.len();
                shuffled.rotate_left(by);
            }
            prop_assert_eq!(&winners, &draw(&seed, &shuffled, wanted));
            // Re-running from the exported file and the revealed seed gives the same list.
            let file = format_entries(&entries);
            let reread = parse_entries(&file).unwrap();
            prop_assert_eq!(&winners, &draw(&Seed::parse(&seed.reveal()).unwrap(), &reread, wanted));
        }

        #[test]
        fn winners_are_distinct_members_with_chances(
            bytes in proptest::array::uniform32(any::<u8>()),
            entries in entries_strategy(),
            wanted in 0u32..8,
        ) {
            let winners = draw(&Seed::from_bytes(bytes), &entries, wanted);
            let eligible = entries.iter().filter(|e| e.chances > 0).count();
            prop_assert_eq!(winners.len(), eligible.min(wanted as usize));
            let mut unique = winners.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), winners.len());
            for winner in &winners {
                prop_assert!(entries.iter().any(|e| &e.member == winner && e.chances > 0));
            }
        }

        #[test]
        fn each_entry_owns_exactly_its_chance_count_of_tickets(entries in entries_strategy()) {
            let sorted = normalize(&entries);
            let total: u64 = sorted.iter().map(|e| u64::from(e.chances)).sum();
            let mut owned = vec![0u32; sorted.len()];
            for ticket in 0..total {
                owned[ticket_owner(&sorted, ticket).unwrap()] += 1;
            }
            prop_assert_eq!(ticket_owner(&sorted, total), None);
            for (entry, count) in sorted.iter().zip(owned) {
                prop_assert_eq!(entry.chances, count);
            }
        }
    }
}
