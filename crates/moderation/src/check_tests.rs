//! Rule-file checks: the shipped example passes, and each kind of mistake is reported at its
//! exact `file:line:col`.

use crate::check;

const EXAMPLE: &str = include_str!("../examples/rules.toml");

#[test]
fn shipped_example_passes_check() {
    let ruleset = match check(EXAMPLE, "rules.toml") {
        Ok(ruleset) => ruleset,
        Err(diagnostics) => panic!("example rules.toml fails check:\n{}", render(&diagnostics)),
    };
    assert_eq!(ruleset.rules.len(), 9);
    let traffic = ruleset.profile("traffic").unwrap();
    assert_eq!(traffic.rules.len(), 9);
    assert!(traffic.welcome.is_some() && traffic.nickname.is_some() && traffic.faq.is_some());
    assert!(traffic.review.is_some() && traffic.lurker.is_some() && traffic.group_rules.is_some());
    let vip = ruleset
        .profile_for("!any:x", qunzhu_domain::GroupType::Member)
        .unwrap();
    assert_eq!(vip.name, "vip");
    let default = ruleset
        .profile_for("!any:x", qunzhu_domain::GroupType::Traffic)
        .unwrap();
    assert_eq!(default.name, "traffic");
}

fn render(diagnostics: &[crate::Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|diagnostic| format!("{diagnostic}\n"))
        .collect()
}

/// Each case: a file and the exact diagnostics it must produce.
#[test]
fn diagnostics_point_at_the_mistake() {
    let cases: &[(&str, &str)] = &[
        (
            "[[rules]]\nname = \"names\"\nkind = \"name_pattern\"\npattern = '^(aaa'\n",
            "rules.toml:4:11: invalid regex `^(aaa`: unclosed group\n",
        ),
        (
            "[[rules]]\nname = \"ads\"\nkind = \"keywords\"\nwords = [\"加微信\"]\nladder = [\"redact+warn\", \"explode\"]\n",
            "rules.toml:5:27: unknown action `explode`, expected one of: redact, warn, mute, kick, ban\n",
        ),
        (
            "[[rules]]\nname = \"flood\"\nkind = \"flood\"\ncount = -3\nwithin = \"10s\"\n",
            "rules.toml:4:9: `count` must be a positive number, got -3\n",
        ),
        (
            "[[rules]]\nname = \"flood\"\nkind = \"flood\"\ncount = 5\nwithin = \"10s\"\ntreshold = 3\n",
            "rules.toml:6:1: unknown field `treshold`, expected one of `name`, `kind`, `lists`, `words`, `allow`, `count`, `within`, `pattern`, `actions`, `ladder`, `exempt`, `dry_run`, `reason`, `warning`\n",
        ),
        (
            "[welcome.w]\ntemplate = \"欢迎 {name}，{groop} 欢迎你\"\n",
            "rules.toml:2:23: unknown template variable `{groop}`, expected one of: {name}, {group}, {rules}, {intro_template}, {gift}\n",
        ),
        (
            "[settings]\nlanguage = \"fr\"\n",
            "rules.toml:2:12: unknown language `fr`, expected zh or en\n",
        ),
        (
            "[[rules]]\nname = \"ads\"\nkind = \"keywords\"\nlists = [\"adz\"]\n",
            "rules.toml:4:10: undefined keyword list `adz`\n",
        ),
        (
            "[[rules]]\nname = \"x\"\nkind = \"keyword\"\n",
            "rules.toml:3:8: unknown rule kind `keyword`, expected one of: keywords, links, flood, repeat, mentions, name_pattern, newcomer_link\n",
        ),
        (
            "[[rules]]\nname = \"x\"\nkind = \"repeat\"\ncount = 3\nwithin = \"-5m\"\n",
            "rules.toml:5:10: duration must be positive, got `-5m`\n",
        ),
        (
            "[[rules]]\nname = \"x\"\nkind = \"mentions\"\ncount = 0\nwithin = \"1m\"\n",
            "rules.toml:4:9: `count` must be a positive number, got 0\nrules.toml:5:10: `within` does not apply to rules of kind `mentions`\n",
        ),
        ("rules = [\n", "rules.toml:2:1: invalid array, expected `]`\n"),
        (
            "[profiles.p]\nrules = [\"nope\"]\nwelcome = \"none\"\ngroup_types = [\"vip\"]\n",
            "rules.toml:2:10: undefined rule `nope`\nrules.toml:3:11: undefined welcome `none`\nrules.toml:4:16: unknown GroupType `vip`, expected one of: traffic, flash, content, check_in, member\n",
        ),
        (
            "[nickname.n]\npattern = '^.+$'\ndescription = \"城市-姓名\"\nescalation = \"ban\"\n",
            "rules.toml:4:15: unknown action `ban`, expected one of: warn, mute, kick\n",
        ),
        (
            "[lurker.l]\nsilent_days = -28\nexempt = [\"boss\"]\n",
            "rules.toml:2:15: `silent_days` must be a positive number, got -28\nrules.toml:3:11: unknown MemberRole `boss`, expected one of: owner, admin, service, kol, helper, committee, member\n",
        ),
        (
            "[review.r]\ndeny_lists = [\"spam\"]\notherwise = \"maybe\"\n",
            "rules.toml:2:15: undefined keyword list `spam`\nrules.toml:3:13: unknown review decision `maybe`, expected one of: approve, deny, queue\n",
        ),
    ];
    for (source, expected) in cases {
        let diagnostics = match check(source, "rules.toml") {
            Ok(_) => panic!("expected diagnostics for:\n{source}"),
            Err(diagnostics) => diagnostics,
        };
        assert_eq!(render(&diagnostics), *expected, "for source:\n{source}");
    }
}

/// Issue #11.1: durations and counts a rule file may name are bounded where they are written,
/// so an accepted rule can always be run (these were accepted, then overflowed at run time).
#[test]
fn huge_durations_and_counts_are_refused_where_written() {
    let cases: &[(&str, &str)] = &[
        (
            "[[rules]]\nname = \"f\"\nkind = \"flood\"\ncount = 5\nwithin = \"100000000w\"\n",
            "rules.toml:5:10: duration `100000000w` is too long: at most 365 d\n",
        ),
        ("[settings]\nwarn_decay = \"100000000w\"\n", "rules.toml:2:14: duration `100000000w` is too long: at most 365 d\n"),
        (
            "[[rules]]\nname = \"k\"\nkind = \"mentions\"\ncount = 5\nactions = \"mute 100000000w\"\n",
            "rules.toml:5:12: duration `100000000w` is too long: at most 365 d\n",
        ),
        ("[settings]\nrules_cooldown = \"9300000000000000s\"\n", "rules.toml:2:18: duration `9300000000000000s` is too long: at most 365 d\n"),
        (
            "[settings]\nwarn_decay = \"999999999999999999999999999d\"\n",
            "rules.toml:2:14: duration `999999999999999999999999999d` is too long: at most 365 d\n",
        ),
        ("[lurker.l]\nsilent_days = 9223372036854775807\n", "rules.toml:2:15: `silent_days` is at most 365, got 9223372036854775807\n"),
        (
            "[[rules]]\nname = \"f\"\nkind = \"flood\"\ncount = 99999999999\nwithin = \"10s\"\n",
            "rules.toml:4:9: `count` is at most 10000, got 99999999999\n",
        ),
        (
            "[nickname.n]\npattern = '^.+$'\ndescription = \"x\"\nmax_reminders = 1000000\nremind_every = \"400d\"\n",
            "rules.toml:4:17: `max_reminders` is at most 100, got 1000000\nrules.toml:5:16: duration `400d` is too long: at most 365 d\n",
        ),
    ];
    for (source, expected) in cases {
        let diagnostics = match check(source, "rules.toml") {
            Ok(_) => panic!("expected diagnostics for:\n{source}"),
            Err(diagnostics) => diagnostics,
        };
        assert_eq!(render(&diagnostics), *expected, "for source:\n{source}");
    }
    let longest = "[[rules]]\nname = \"f\"\nkind = \"flood\"\ncount = 10000\nwithin = \"365d\"\n\
                   actions = \"mute 52w1d\"\n[settings]\nwarn_decay = \"365d\"\n";
    assert!(
        check(longest, "rules.toml").is_ok(),
        "the bounds themselves are accepted"
    );
}
