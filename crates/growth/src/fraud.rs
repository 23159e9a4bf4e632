//! The anti-fraud rules of invite tasks, from referral tools' published practice: a suspicious
//! invite is flagged with its reason and kept (shown to the operator), never silently dropped,
//! and a flagged invite does not count towards a prize.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::Instant;
use serde::{Deserialize, Serialize};

use crate::campaign::FraudRules;

/// Why an invite does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The inviter brought themselves (their own page or link).
    SelfInvite,
    /// The display name matches a junk pattern (`AAA`, a configured `*代购*`).
    NamePattern,
    /// The invitee was already in another of the brand's groups.
    OtherGroup,
    /// One of too many joins for one inviter in a short window.
    Burst,
    /// The stay ran out without the invitee ever posting.
    NeverSpoke,
    /// Beyond the inviter's cap for the period.
    OverCap,
    /// The inviter is suspended from the campaign.
    Suspended,
}

impl Flag {
    pub const ALL: &'static [Flag] = &[
        Flag::SelfInvite,
        Flag::NamePattern,
        Flag::OtherGroup,
        Flag::Burst,
        Flag::NeverSpoke,
        Flag::OverCap,
        Flag::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::SelfInvite => "self_invite",
            Flag::NamePattern => "name_pattern",
            Flag::OtherGroup => "other_group",
            Flag::Burst => "burst",
            Flag::NeverSpoke => "never_spoke",
            Flag::OverCap => "over_cap",
            Flag::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<Flag> {
        Flag::ALL.iter().copied().find(|flag| flag.as_str() == text)
    }
}

/// What is known about a join when it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinFacts<'a> {
    pub invitee: &'a str,
    pub inviter: &'a str,
    pub display_name: Option<&'a str>,
    /// Present in another group of the workspace at the time of the join.
    pub elsewhere: bool,
    pub at: DateTime<Utc>,
    /// The inviter's earlier joins in this campaign (any state), for the burst rule.
    pub earlier_joins: &'a [DateTime<Utc>],
}

/// The flags a join raises at once (the stay, the cap and suspension are judged later).
pub fn join_flags(rules: &FraudRules, facts: &JoinFacts<'_>) -> Vec<Flag> {
    let mut flags = Vec::new();
    if facts.invitee == facts.inviter {
        flags.push(Flag::SelfInvite);
    }
    if let Some(name) = facts.display_name {
        if repeated(name, rules.repeated_chars)
            || rules
                .name_patterns
                .iter()
                .any(|pattern| glob(pattern, name))
        {
            flags.push(Flag::NamePattern);
        }
    }
    if rules.other_groups && facts.elsewhere {
        flags.push(Flag::OtherGroup);
    }
    if rules.burst_joins > 0 {
        let since = facts
            .at
            .minus(Duration::minutes(i64::from(rules.burst_minutes)));
        let recent = facts
            .earlier_joins
            .iter()
            .filter(|at| **at > since && **at <= facts.at)
            .count();
        // This join is the (recent + 1)th in the window.
        if recent + 1 > rules.burst_joins as usize {
            flags.push(Flag::Burst);
        }
    }
    flags
}

/// A name that is one character repeated `at_least` times or more (ignoring spaces); 0 is off.
fn repeated(name: &str, at_least: usize) -> bool {
    if at_least == 0 {
        return false;
    }
    let letters: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    letters.len() >= at_least && letters.iter().all(|c| Some(c) == letters.first())
}

/// `*` matches any run of characters; everything else literally, case-insensitively.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && pattern[p] != '*' && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(at) = star {
            p = at + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> FraudRules {
        FraudRules {
            name_patterns: vec!["*代购*".into(), "bot*".into()],
            repeated_chars: 3,
            burst_joins: 2,
            burst_minutes: 10,
            other_groups: true,
        }
    }

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn each_rule_flags_what_it_names_and_nothing_else() {
        let none: &[DateTime<Utc>] = &[];
        let two = [at(1), at(5)];
        let old = [at(-30), at(-20)];
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            bool,
            &'a [DateTime<Utc>],
            &'a [Flag],
        );
        let cases: &[Case<'_>] = &[
            ("@b", Some("Bob"), false, none, &[]),
            ("@a", Some("Bob"), false, none, &[Flag::SelfInvite]),
            ("@b", Some("AAA"), false, none, &[Flag::NamePattern]),
            ("@b", Some("1 1 1 1"), false, none, &[Flag::NamePattern]),
            ("@b", Some("AA"), false, none, &[]),
            (
                "@b",
                Some("专业代购小王"),
                false,
                none,
                &[Flag::NamePattern],
            ),
            ("@b", Some("BOT_42"), false, none, &[Flag::NamePattern]),
            ("@b", Some("robot"), false, none, &[]),
            ("@b", None, true, none, &[Flag::OtherGroup]),
            ("@b", None, false, &two, &[Flag::Burst]),
            ("@b", None, false, &old, &[]),
            (
                "@a",
                Some("ZZZ"),
                true,
                &two,
                &[
                    Flag::SelfInvite,
                    Flag::NamePattern,
                    Flag::OtherGroup,
                    Flag::Burst,
                ],
            ),
        ];
        for (invitee, name, elsewhere, earlier, expected) in cases {
            let facts = JoinFacts {
                invitee,
                inviter: "@a",
                display_name: *name,
                elsewhere: *elsewhere,
                at: at(6),
                earlier_joins: earlier,
            };
            assert_eq!(
                join_flags(&rules(), &facts),
                *expected,
                "{invitee} {name:?}"
            );
        }
    }

    #[test]
    fn flags_have_stable_names() {
        for flag in Flag::ALL {
            assert_eq!(Flag::parse(flag.as_str()), Some(*flag));
        }
    }
}
