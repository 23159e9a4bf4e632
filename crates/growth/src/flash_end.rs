//! How a flash group 快闪群 with `end = "dissolve"` ends, after it was archived: the grace
//! period (the closing message's link has time to work), then one removal per remaining member
//! who is not staff, then the group is marked dissolved.
//!
//! The members to remove come from the memberships read model (the keeper reads it; the log is
//! never replayed), each with the step of its own key (`keys::flash_kick`), so a removal is
//! written once however often the keeper decides, and a member who joins late is removed too.
//! Where the platform cannot remove members, one person's task (`keys::flash_dissolve`) asks
//! for it, as the closing message does where the bot cannot post.

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionKind, MemberRole};

use crate::flash::{Can, Do, Facts, FlashPlan, Stage, StepState};

/// Whether the dissolve removes this member: not the bot itself, not one of the plan's
/// moderators, not staff by role (owner, admin, service, KOL, helper).
pub fn removable(plan: &FlashPlan, bot: Option<&str>, member: &str, role: MemberRole) -> bool {
    bot != Some(member) && !plan.moderators.contains_key(member) && !role.exempt_by_default()
}

/// The removal of one member, with the reason the platform shows where it shows one.
pub fn kick_action(plan: &FlashPlan, member: &str) -> ActionKind {
    ActionKind::Kick {
        member: member.to_string(),
        reason: format!("快闪群「{}」已结束 / flash group ended", plan.title),
    }
}

/// The person's task where the bot cannot remove members.
pub fn dissolve_task_text(plan: &FlashPlan, members: usize) -> String {
    format!(
        "快闪群「{}」已结束：请移出剩余的 {members} 位成员并解散该群（长期群：{}）。/ Flash group `{}` has ended: remove its {members} remaining members and dissolve the group (long-lived group: {}).",
        plan.title, plan.link, plan.name, plan.link
    )
}

/// The lifecycle after the group is archived, for `end = "dissolve"` (called by
/// [`crate::flash::decide`]; `todo` holds what it already asked for this round).
pub(crate) fn dissolve(
    plan: &FlashPlan,
    facts: &Facts,
    can: Can,
    now: DateTime<Utc>,
    chat: String,
    mut todo: Vec<Do>,
) -> (Stage, Vec<Do>) {
    if facts.dissolved {
        return (Stage::Dissolved, todo);
    }
    if now < plan.dissolves_at() {
        return (Stage::Dissolving, todo);
    }
    if !can.kick {
        match &facts.dissolve {
            StepState::Absent => todo.push(Do::DissolveTask {
                chat,
                members: facts.kicks.len(),
            }),
            StepState::Waiting => {}
            StepState::Done(_) => todo.push(Do::MarkDissolved { chat }),
            StepState::Failed(reason) => todo.push(Do::Alert {
                kind: "dissolve_failed",
                message: format!(
                    "flash group `{}`: the task to remove its members was given up ({reason}); remove them by hand",
                    plan.name
                ),
            }),
        }
        return (Stage::Dissolving, todo);
    }
    let absent: Vec<String> = facts
        .kicks
        .iter()
        .filter(|(_, step)| *step == StepState::Absent)
        .map(|(member, _)| member.clone())
        .collect();
    if !absent.is_empty() {
        todo.push(Do::Kick {
            chat,
            members: absent,
        });
        return (Stage::Dissolving, todo);
    }
    if !facts.kicks.iter().all(|(_, step)| step.settled()) {
        return (Stage::Dissolving, todo);
    }
    let failed: Vec<&str> = facts
        .kicks
        .iter()
        .filter(|(_, step)| matches!(step, StepState::Failed(_)))
        .map(|(member, _)| member.as_str())
        .collect();
    if !failed.is_empty() {
        todo.push(Do::Alert {
            kind: "kick_failed",
            message: format!(
                "flash group `{}`: {} members could not be removed ({}); remove them by hand",
                plan.name,
                failed.len(),
                failed.join(", ")
            ),
        });
    }
    todo.push(Do::MarkDissolved { chat });
    (Stage::Dissolving, todo)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::flash::{decide, parse_flash, stage_of};

    const PLAN: &str = r#"
title = "双十二快闪"
platform = "matrix"
opens = "2026-12-10 10:00"
days = 1
link = "/j/vip"
moderators = { "@amy:hs" = 50 }
end = "dissolve"
grace_hours = 6
"#;

    const CAN: Can = Can {
        create_groups: true,
        send: true,
        rename: true,
        set_posting_level: true,
        kick: true,
    };

    fn plan() -> FlashPlan {
        parse_flash("d12", PLAN, chrono_tz::Asia::Shanghai).unwrap()
    }

    /// Created, recorded, closed, renamed, locked and archived: where dissolving begins.
    fn archived() -> Facts {
        Facts {
            create: StepState::Done(Some("!f:hs".into())),
            recorded: true,
            close: StepState::Done(None),
            rename: StepState::Done(None),
            lock: StepState::Done(None),
            archived: true,
            ..Facts::default()
        }
    }

    fn chat() -> String {
        "!f:hs".into()
    }

    #[test]
    fn staff_and_the_bot_stay() {
        let plan = plan();
        let rows = [
            ("@bot:hs", MemberRole::Member, false),
            ("@amy:hs", MemberRole::Member, false),
            ("@owner:hs", MemberRole::Owner, false),
            ("@helper:hs", MemberRole::Helper, false),
            ("@kol:hs", MemberRole::Kol, false),
            ("@buyer:hs", MemberRole::Member, true),
            ("@committee:hs", MemberRole::Committee, true),
        ];
        for (member, role, expected) in rows {
            assert_eq!(
                removable(&plan, Some("@bot:hs"), member, role),
                expected,
                "{member}"
            );
        }
    }

    #[test]
    fn after_the_grace_period_each_member_is_removed_once_then_the_group_is_dissolved() {
        let plan = plan();
        let close = Utc.with_ymd_and_hms(2026, 12, 11, 2, 0, 0).unwrap();
        let after = plan.dissolves_at();
        assert_eq!(after - close, Duration::hours(6));
        type Kicks = Vec<(String, StepState)>;
        let kicks = |states: &[(&str, StepState)]| -> Kicks {
            states
                .iter()
                .map(|(member, step)| (member.to_string(), step.clone()))
                .collect()
        };
        let done = || StepState::Done(None);
        // (minutes after the close, the kicks the keeper found, dissolved?, stage, steps)
        let rows: Vec<(i64, Kicks, bool, Stage, Vec<Do>)> = vec![
            (0, vec![], false, Stage::Dissolving, vec![]),
            (
                6 * 60 - 1,
                kicks(&[("@a:hs", StepState::Absent)]),
                false,
                Stage::Dissolving,
                vec![],
            ),
            (
                6 * 60,
                kicks(&[("@a:hs", StepState::Absent), ("@b:hs", StepState::Absent)]),
                false,
                Stage::Dissolving,
                vec![Do::Kick {
                    chat: chat(),
                    members: vec!["@a:hs".into(), "@b:hs".into()],
                }],
            ),
            (
                6 * 60,
                kicks(&[("@a:hs", StepState::Waiting), ("@b:hs", StepState::Waiting)]),
                false,
                Stage::Dissolving,
                vec![],
            ),
            // @a's removal is logged (no longer present); @c joined meanwhile.
            (
                6 * 60 + 1,
                kicks(&[("@b:hs", done()), ("@c:hs", StepState::Absent)]),
                false,
                Stage::Dissolving,
                vec![Do::Kick {
                    chat: chat(),
                    members: vec!["@c:hs".into()],
                }],
            ),
            (
                6 * 60 + 2,
                kicks(&[("@b:hs", done()), ("@c:hs", done())]),
                false,
                Stage::Dissolving,
                vec![Do::MarkDissolved { chat: chat() }],
            ),
            (6 * 60 + 2, vec![], true, Stage::Dissolved, vec![]),
            (30 * 1440, vec![], true, Stage::Dissolved, vec![]),
        ];
        for (minutes, found, dissolved, stage, todo) in rows {
            let facts = Facts {
                kicks: found,
                dissolved,
                ..archived()
            };
            let now = close + Duration::minutes(minutes);
            let decided = decide(&plan, &facts, CAN, now);
            assert_eq!(decided, (stage, todo), "at close +{minutes} min");
            if decided.1.is_empty() {
                assert_eq!(stage_of(&plan, &facts, now), stage, "+{minutes} min");
            }
        }
    }

    #[test]
    fn a_failed_removal_is_told_and_the_group_still_ends() {
        let facts = Facts {
            kicks: vec![
                ("@a:hs".into(), StepState::Done(None)),
                ("@b:hs".into(), StepState::Failed("M_FORBIDDEN".into())),
            ],
            ..archived()
        };
        let (stage, todo) = decide(&plan(), &facts, CAN, plan().dissolves_at());
        assert_eq!(stage, Stage::Dissolving);
        assert!(matches!(
            &todo[..],
            [Do::Alert { kind: "kick_failed", message }, Do::MarkDissolved { .. }] if message.contains("@b:hs")
        ));
    }

    #[test]
    fn where_the_bot_cannot_remove_members_a_person_is_asked_once() {
        let plan = plan();
        let can = Can { kick: false, ..CAN };
        let at = plan.dissolves_at();
        let facts = Facts {
            kicks: vec![("@a:hs".into(), StepState::Absent)],
            ..archived()
        };
        assert_eq!(
            decide(&plan, &facts, can, at),
            (
                Stage::Dissolving,
                vec![Do::DissolveTask {
                    chat: chat(),
                    members: 1
                }]
            )
        );
        let waiting = Facts {
            dissolve: StepState::Waiting,
            ..facts.clone()
        };
        assert_eq!(
            decide(&plan, &waiting, can, at),
            (Stage::Dissolving, vec![])
        );
        let confirmed = Facts {
            dissolve: StepState::Done(None),
            ..facts
        };
        assert_eq!(
            decide(&plan, &confirmed, can, at),
            (Stage::Dissolving, vec![Do::MarkDissolved { chat: chat() }])
        );
        assert!(dissolve_task_text(&plan, 3).contains("3"));
    }

    #[test]
    fn an_archive_plan_never_removes_anyone() {
        let mut plan = plan();
        plan.end = crate::flash::End::Archive;
        let facts = Facts {
            kicks: vec![("@a:hs".into(), StepState::Absent)],
            ..archived()
        };
        let later = plan.dissolves_at() + Duration::days(3);
        assert_eq!(decide(&plan, &facts, CAN, later), (Stage::Archived, vec![]));
    }
}
