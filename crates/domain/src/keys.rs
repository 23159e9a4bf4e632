//! Idempotency keys of every action and ledger entry, built in one place.
//!
//! A key is derived from what caused the action, never from who asked or through which door
//! (console, API, CLI), so one decision taken twice is written once. Keys are unique per
//! workspace (the outbox's `UNIQUE (workspace, key)`), so none carries the workspace itself.
//! A key's text is part of the stored data: changing a format here makes a retried decision
//! look new, so formats only ever gain new functions.

/// The decision on a join request, from the request's event key.
pub fn join_decision(request_event_key: &str) -> String {
    format!("decide:{request_event_key}")
}

/// A brand-wide ban carried out in one group: one per ban decision, group and member.
pub fn brand_ban(ban_id: i64, chat: &str, member: &str) -> String {
    format!("banlist:{ban_id}:{chat}:{member}")
}

/// A brand-wide ban lifted in one group.
pub fn brand_unban(ban_id: i64, chat: &str, member: &str) -> String {
    format!("banlist:{ban_id}:{chat}:{member}:unban")
}

/// A ban written to the workspace's Matrix policy room (the state event is the ban's).
pub fn policy_rule(ban_id: i64) -> String {
    format!("banlist:{ban_id}:policy")
}

/// One group's daily digest for one local day, to one destination chat: sent once however
/// many instances or rounds decide it.
pub fn digest(group_chat: &str, day: chrono::NaiveDate, destination: &str) -> String {
    format!("digest:{group_chat}:{day}:{destination}")
}

/// An operator's decision on a dying group (re-activate, merge, dissolve), once per group,
/// decision and request id whichever door it comes through.
pub fn group_fate(group_chat: &str, fate: &str, request: &str) -> String {
    format!("fate:{group_chat}:{fate}:{request}")
}

// --- Guardianship (qunzhu-moderation) ---

/// One step (warn, mute, kick…) a moderation rule took on one event.
pub fn moderation_step(rule: &str, event_key: &str, step: &str) -> String {
    format!("mod:{rule}:{event_key}:{step}")
}

/// The redaction of one message of a burst a moderation rule matched.
pub fn moderation_redact(rule: &str, event_key: &str, message_id: &str) -> String {
    format!("mod:{rule}:{event_key}:redact:{message_id}")
}

/// Undoing a bot action (unmute, unban…) an operator decided, from the action's cause.
pub fn undo(kind: &str, chat: &str, member: &str, cause: &str) -> String {
    format!("undo:{kind}:{chat}:{member}:{cause}")
}

/// An action replaced by what the platform can do instead (a mute as a kick): its own key, so
/// the original and the fitted one are never confused.
pub fn fitted(key: &str, kind: &str) -> String {
    format!("{key}:as:{kind}")
}

/// What lifts a timed mute, from the mute's key.
pub fn unmute(mute_key: &str) -> String {
    format!("{mute_key}{UNMUTE_SUFFIX}")
}

/// Ends every unmute key ([`unmute`]).
pub const UNMUTE_SUFFIX: &str = ":unmute";

/// The welcome for one batch of joiners.
pub fn welcome(chat: &str, batch_key: &str) -> String {
    format!("welcome:{chat}:{batch_key}")
}

/// One member's join gift in one group: once, however often they rejoin.
pub fn join_gift(chat: &str, member: &str) -> String {
    format!("gift:{chat}:{member}")
}

/// The nudge to a wave of newcomers who have not yet introduced themselves.
pub fn intro_nudge(chat: &str, wave_key: &str) -> String {
    format!("nudge:{chat}:{wave_key}")
}

/// The nickname reminder to one batch of joiners.
pub fn nickname_batch(chat: &str, batch_key: &str) -> String {
    format!("nick:{chat}:{batch_key}:batch")
}

/// The `count`th nickname reminder to one member.
pub fn nickname_reminder(chat: &str, member: &str, cause: &str, count: u32) -> String {
    format!("nick:{chat}:{member}:{cause}:{count}")
}

/// What follows reminders a member ignored (mute, kick).
pub fn nickname_escalation(chat: &str, member: &str, cause: &str) -> String {
    format!("nick:{chat}:{member}:{cause}:escalate")
}

/// The group rules posted in answer to one question.
pub fn rules_reply(chat: &str, event_key: &str) -> String {
    format!("rules:{chat}:{event_key}")
}

/// The `n`th FAQ answer to one message.
pub fn faq_answer(chat: &str, event_key: &str, n: usize) -> String {
    format!("faq:{chat}:{event_key}:{n}")
}

/// The notice that a join request is held for review.
pub fn review_notice(chat: &str, event_key: &str) -> String {
    format!("review:{chat}:{event_key}")
}

/// The notice that a join wave switched a group to raid mode.
pub fn raid_notice(chat: &str, event_key: &str) -> String {
    format!("raid:{chat}:{event_key}")
}

/// The notice that raid mode is over.
pub fn raid_end(chat: &str, raid_key: &str) -> String {
    format!("raid:{chat}:{raid_key}:end")
}

/// The mute of one newcomer who joined during a raid.
pub fn raid_mute(chat: &str, join_key: &str) -> String {
    format!("raid:{chat}:{join_key}:mute")
}

/// The cause (and key stem) of one group's lurker sweep on one local day.
pub fn lurker_sweep(chat: &str, day: &str) -> String {
    format!("lurker:{chat}:{day}")
}

/// The warning a lurker sweep posts.
pub fn lurker_warning(sweep: &str) -> String {
    format!("{sweep}:warn")
}

/// One member removed by a lurker sweep.
pub fn lurker_kick(sweep: &str, member: &str) -> String {
    format!("{sweep}:kick:{member}")
}

// --- Engine replies and posts ---

/// The welcome the greeter sends for one join event.
pub fn greeting(event_key: &str) -> String {
    format!("greet:{event_key}")
}

/// The answer to a member asking for their balance.
pub fn balance_reply(event_key: &str) -> String {
    format!("balance:{event_key}")
}

/// The message that tells a member about what the action `key` did (a grant, a coupon).
pub fn notice(key: &str) -> String {
    format!("{key}:notice")
}

/// The reply in chat to what the action or entry `key` recorded (a check-in, a question).
pub fn reply(key: &str) -> String {
    format!("{key}:reply")
}

/// The poll a staff member's `/survey` command starts.
pub fn survey(event_key: &str) -> String {
    format!("survey:{event_key}")
}

/// The answer to a `/survey` command that was refused.
pub fn survey_refused(event_key: &str) -> String {
    format!("survey:{event_key}:refused")
}

/// A planned SOP occurrence at one plan version (a new version re-plans under new keys).
pub fn occurrence_at_version(occurrence_key: &str, version: i64) -> String {
    format!("{occurrence_key}#v{version}")
}

/// The person task (WeCom: a group-send task a staff member confirms) behind an action.
pub fn person_task(action_key: &str) -> String {
    format!("{action_key}#task")
}

/// A member's check-in reward in one scope on one local day.
pub fn checkin_reward(scope: &str, member: &str, day: chrono::NaiveDate) -> String {
    format!("checkin:{scope}:{member}:{day}")
}

// --- Growth ---

/// A point drop scheduled by an operator's request.
pub fn drop_request(request: &str) -> String {
    format!("drop:{request}")
}

/// The announcement that a drop opened.
pub fn drop_start(drop: i64) -> String {
    format!("drop:{drop}:start")
}

/// The summary posted when a drop closes.
pub fn drop_end(drop: i64) -> String {
    format!("drop:{drop}:end")
}

/// One member's share of one drop.
pub fn drop_share(drop: i64, member: &str) -> String {
    format!("drop:{drop}:share:{member}")
}

/// The invitee's gift of an invite task, per campaign, group and invitee.
pub fn task_gift(campaign: &crate::CampaignId, chat: &str, invitee: &str) -> String {
    format!("task:{campaign}:gift:{chat}:{invitee}")
}

/// A progress message of an invite task ("还差 2 人"), per campaign, group and cause.
pub fn task_progress(campaign: &crate::CampaignId, chat: &str, cause: &str) -> String {
    format!("task:{campaign}:{chat}:progress:{cause}")
}

/// A lottery opened by an operator's request.
pub fn lottery_request(request: &str) -> String {
    format!("lottery:{request}")
}

/// The post that publishes a lottery's seed commitment.
pub fn lottery_commitment(lottery: i64) -> String {
    format!("lottery:{lottery}:commit")
}

/// The post that announces a lottery's winners.
pub fn lottery_result(lottery: i64) -> String {
    format!("lottery:{lottery}:result")
}

/// Chances bought for points, per lottery and request.
pub fn lottery_purchase(lottery: i64, request: &str) -> String {
    format!("lottery:{lottery}:buy:{request}")
}

/// A winner's prize (a ledger entry or an `IssueCoupon` action).
pub fn lottery_prize(lottery: i64, member: &str) -> String {
    format!("lottery:{lottery}:prize:{member}")
}

/// A commission's ledger entry: once per order and rule.
pub fn commission(order_id: &str, rule: &str) -> String {
    format!("commission:{order_id}:{rule}")
}

/// An order's 晒单 invitation: once per order.
pub fn showcase_invite(order_id: &str) -> String {
    format!("showcase:{order_id}")
}

// --- Operator requests (qunzhu-ops) ---

/// A manual grant, deduction or coupon, per the caller's request id.
pub fn manual(request: &str) -> String {
    format!("manual:{request}")
}

/// The reversal of the ledger entry `key`: one per entry, so reversing twice is one reversal.
pub fn reversal(key: &str) -> String {
    format!("reversal:{key}")
}

/// The invite the invite page sends one visitor into one group.
pub fn invite_page(chat: &str, visitor: &str) -> String {
    format!("invite_page:{chat}:{visitor}")
}

/// A dry-run action an operator confirmed, carried out for real.
pub fn confirmed(dry_run_key: &str) -> String {
    format!("{dry_run_key}:confirmed")
}

/// A campaign cost an operator entered, per actor and request id.
pub fn campaign_cost(actor: &str, request: &str) -> String {
    format!("{actor}:{request}")
}

/// A growth play's action (拼 砍 帮 送): `what` names the run and the step (`3:join:@a`), or the
/// chat command it answers; the play's name scopes it within the workspace.
pub fn play(play: &str, what: &str) -> String {
    format!("play:{play}:{what}")
}

/// The drop an SOP step's occurrence starts, from the occurrence's action key: a claim redone
/// after a crash or on another instance schedules the same drop.
pub fn planned_drop(occurrence_key: &str) -> String {
    format!("drop:sop:{occurrence_key}")
}

/// The step's own text posted before a planned drop opens.
pub fn planned_drop_intro(occurrence_key: &str) -> String {
    format!("drop:sop:{occurrence_key}:intro")
}

/// A live code's spare group number `sequence` (its place in the code's set, 1-based): planned
/// once however many scans or instances see the set filling up.
pub fn livecode_spare(code: &str, sequence: u32) -> String {
    format!("livecode:{code}:spare:{sequence}")
}

/// The bot inviting a live code's visitor into the group the code chose for them: once per
/// code, group and visitor.
pub fn livecode_invite(code: &str, chat: &str, visitor: &str) -> String {
    format!("livecode:{code}:{chat}:{visitor}")
}

/// The local part of a created group's address (a Matrix room alias), from the workspace and
/// the action key: the same create retried asks for the same alias, and two workspaces on one
/// homeserver never ask for each other's. Readable prefix, then a hash of the whole key.
pub fn group_alias(workspace: crate::WorkspaceId, key: &str) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms (unlike std's hasher).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in workspace.0.to_le_bytes().iter().chain(key.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let readable: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("qz{}_{readable}_{hash:016x}", workspace.0)
}

/// A 秒杀 claim's ledger entry (the points price) and its claim: one per offer and member, so a
/// claim retried through chat and the API at once is paid once.
pub fn offer_claim(offer: i64, member: &str) -> String {
    format!("offer:{offer}:claim:{member}")
}

/// The coupon a 秒杀 claim issues, once per offer and member.
pub fn offer_coupon(offer: i64, member: &str) -> String {
    format!("offer:{offer}:coupon:{member}")
}

/// One of a 秒杀's own posts (`countdown`, `open`, `sold_out`), once per offer.
pub fn offer_post(offer: i64, which: &str) -> String {
    format!("offer:{offer}:{which}")
}

/// The answer to one chat message claiming a 秒杀, once per message.
pub fn offer_reply(offer: i64, event_key: &str) -> String {
    format!("offer:{offer}:reply:{event_key}")
}

/// The swap board's answer to one chat message (a post, an accept, a listing), once per message.
pub fn swap_reply(event_key: &str) -> String {
    format!("swap:reply:{event_key}")
}

/// A member's poster handed out in a group: once per member, group and local day, so asking
/// again the same day re-sends nothing (the poster has not changed), and tomorrow it can.
pub fn poster(chat: &str, member: &str, day: chrono::NaiveDate) -> String {
    format!("poster:{chat}:{member}:{day}")
}

/// The back-room 管理群 post about one moderation action (its outbox id is the incident's
/// number): posted once however many rounds or instances see the action.
pub fn backroom_incident(action_id: crate::ActionId) -> String {
    format!("backroom:incident:{action_id}")
}

/// The back-room post about one join request waiting for a person (its log number).
pub fn backroom_knock(request_seq: i64) -> String {
    format!("backroom:knock:{request_seq}")
}

/// The back-room's answer to one staff command, from the command's event key: a command read
/// twice (a restart) is answered once.
pub fn backroom_reply(command_event_key: &str) -> String {
    format!("backroom:reply:{command_event_key}")
}

// Flash groups 快闪群 (issue #14 item 5): one key per flash group and step, so a keeper that
// runs again (or restarts) writes each step once. The outbox scopes them by workspace.

/// The group a flash plan creates.
pub fn flash_create(flash: &str) -> String {
    format!("flash:{flash}:create")
}

/// The closing message with the brand's long-lived group link.
pub fn flash_close(flash: &str) -> String {
    format!("flash:{flash}:close")
}

/// The rename that marks the group as ended (`（已结束）`).
pub fn flash_rename(flash: &str) -> String {
    format!("flash:{flash}:rename")
}

/// The posting level raised so members can no longer post.
pub fn flash_lock(flash: &str) -> String {
    format!("flash:{flash}:lock")
}

// Leaderboard races 比: one key per live post slot and group, per result post and group, and
// per winner's prize, so a keeper that runs again, on another instance or after a restart,
// writes each once. The race is named by its document's name.

/// A live board post: the slot's start (Unix seconds) in one group of the race.
pub fn race_board(race: &str, slot: chrono::DateTime<chrono::Utc>, chat: &str) -> String {
    format!("race:{race}:board:{}:{chat}", slot.timestamp())
}

/// The final board and the winners, in one group of the race.
pub fn race_result(race: &str, chat: &str) -> String {
    format!("race:{race}:result:{chat}")
}

/// One winner's prize (points through the ledger or a coupon).
pub fn race_prize(race: &str, member: &str) -> String {
    format!("race:{race}:prize:{member}")
}

/// The removal of one remaining member when a flash group is dissolved: one key per member,
/// so a member is removed once however many rounds decide it.
pub fn flash_kick(flash: &str, member: &str) -> String {
    format!("flash:{flash}:kick:{member}")
}

/// The person's task to empty and dissolve a flash group where the bot cannot remove members.
pub fn flash_dissolve(flash: &str) -> String {
    format!("flash:{flash}:dissolve")
}

// Live-code join links and alerts (issue #14): a link is made once per code, group and
// channel; an alert reaches the back-room once.

/// The invite link a live code has the bot create in one group for one channel.
pub fn livecode_link(code: &str, chat: &str, channel: &str) -> String {
    format!("livecode:{code}:link:{chat}:{channel}")
}

/// The WeCom join way a live code has per channel (its identity; the keeper makes it).
pub fn livecode_join_way(code: &str, channel: &str) -> String {
    format!("livecode:{code}:joinway:{channel}")
}

/// The back-room post of one live-code alert (its code, kind and sequence are its identity).
pub fn backroom_livecode_alert(code: &str, kind: &str, sequence: u32) -> String {
    format!("backroom:livecode:{code}:{kind}:{sequence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkspaceId;

    #[test]
    fn a_decision_key_depends_on_the_request_only() {
        assert_eq!(join_decision("$knock"), "decide:$knock");
    }

    /// Stored outbox rows and ledger entries carry these texts: a changed format would make a
    /// retried decision look new, so each is pinned.
    #[test]
    fn key_formats_are_stable() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let table = [
            (moderation_step("ads", "$e", "warn"), "mod:ads:$e:warn"),
            (
                moderation_redact("flood", "$e", "$m"),
                "mod:flood:$e:redact:$m",
            ),
            (undo("mute", "!g", "@a", "$c"), "undo:mute:!g:@a:$c"),
            (flash_kick("d12", "@a:hs"), "flash:d12:kick:@a:hs"),
            (flash_dissolve("d12"), "flash:d12:dissolve"),
            (fitted("k", "kick"), "k:as:kick"),
            (unmute("k"), "k:unmute"),
            (welcome("!g", "$b"), "welcome:!g:$b"),
            (join_gift("!g", "@a"), "gift:!g:@a"),
            (nickname_reminder("!g", "@a", "$c", 2), "nick:!g:@a:$c:2"),
            (
                lurker_kick(&lurker_sweep("!g", "2026-12-01"), "@a"),
                "lurker:!g:2026-12-01:kick:@a",
            ),
            (occurrence_at_version("sop:p/s@t", 3), "sop:p/s@t#v3"),
            (
                checkin_reward("all", "@a", day),
                "checkin:all:@a:2026-12-01",
            ),
            (drop_share(7, "@a"), "drop:7:share:@a"),
            (
                task_gift(&crate::CampaignId("c".into()), "!g", "@b"),
                "task:c:gift:!g:@b",
            ),
            (lottery_prize(3, "@a"), "lottery:3:prize:@a"),
            (race_prize("dec", "@a"), "race:dec:prize:@a"),
            (race_result("dec", "!g"), "race:dec:result:!g"),
            (commission("o1", "r"), "commission:o1:r"),
            (reversal("manual:r1"), "reversal:manual:r1"),
            (person_task("k"), "k#task"),
        ];
        for (built, expected) in table {
            assert_eq!(built, expected);
        }
    }

    #[test]
    fn a_group_alias_is_the_keys_and_the_workspaces() {
        let key = super::livecode_spare("spring", 4);
        let alias = super::group_alias(WorkspaceId(1), &key);
        assert_eq!(alias, super::group_alias(WorkspaceId(1), &key));
        assert!(alias.starts_with("qz1_livecode_spring_spare_4_"), "{alias}");
        assert_ne!(alias, super::group_alias(WorkspaceId(2), &key));
        assert_ne!(
            alias,
            super::group_alias(WorkspaceId(1), &super::livecode_spare("spring", 5))
        );
        assert!(alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn a_poster_key_is_per_member_group_and_day() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(super::poster("!g", "@m", day), "poster:!g:@m:2026-12-01");
        assert_ne!(
            super::poster("!g", "@m", day),
            super::poster("!g", "@n", day)
        );
        assert_ne!(
            super::poster("!g", "@m", day),
            super::poster("!g", "@m", day.succ_opt().unwrap())
        );
    }
}
