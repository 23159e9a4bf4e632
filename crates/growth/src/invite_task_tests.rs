//! Fake-clock tests of the invite task book: the retention rule, the hold, review, reversal,
//! the cap and suspension.

use super::*;
use crate::campaign::parse_campaign;

const DOC: &str = r#"title = "邀请有礼"
platform = "sandbox"
groups = ["g"]
starts = "2026-01-01T00:00:00Z"
ends = "2027-01-01T00:00:00Z"
stay_hours = 24
hold_hours = 48
[[thresholds]]
invites = 2
points = 100
[limits]
cap = 3
cap_days = 7
suspend_after = 2
"#;

fn hour(h: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap() + Duration::hours(h)
}

fn book(doc: &str) -> Book {
    Book::new(
        parse_campaign("spring", doc).unwrap(),
        Vec::new(),
        Vec::new(),
    )
}

fn join(book: &mut Book, invitee: &str, at: DateTime<Utc>) {
    book.join(Join {
        chat: "g".into(),
        invitee: invitee.into(),
        inviter: "@a".into(),
        display_name: Some(invitee.trim_start_matches('@').to_string()),
        elsewhere: false,
        at,
    });
}

fn state_of(book: &Book, invitee: &str) -> (InviteState, Vec<Flag>) {
    let row = book.invites().find(|row| row.invitee == invitee).unwrap();
    (row.state, row.flags.clone())
}

fn prize_state(book: &Book) -> Option<PrizeState> {
    book.prizes().next().map(|row| row.state)
}

fn grants(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|effect| matches!(effect, Effect::Grant { .. }))
        .count()
}

#[test]
fn an_invite_counts_only_after_the_stay_and_a_post() {
    let mut book = book(DOC);
    join(&mut book, "@b", hour(0));
    join(&mut book, "@c", hour(0));
    book.posted("g", "@b", hour(1));
    assert!(
        book.tick(hour(23)).is_empty(),
        "nothing counts before 24 hours"
    );
    assert_eq!(state_of(&book, "@b").0, InviteState::Waiting);
    let effects = book.tick(hour(24));
    assert_eq!(state_of(&book, "@b").0, InviteState::Counted);
    assert_eq!(
        state_of(&book, "@c"),
        (InviteState::Flagged, vec![Flag::NeverSpoke])
    );
    assert_eq!(book.counted("@a"), 1);
    assert!(matches!(
        &effects[..],
        [Effect::Progress {
            counted: 1,
            missing: Some(1),
            ..
        }]
    ));
    // Speaking late lifts the flag; the invite counts at the next tick.
    book.posted("g", "@c", hour(30));
    book.tick(hour(30));
    assert_eq!(book.counted("@a"), 2);
}

#[test]
fn a_leave_before_the_stay_never_counts_and_after_it_deducts() {
    let mut book = book(DOC);
    join(&mut book, "@b", hour(0));
    book.posted("g", "@b", hour(1));
    book.left("g", "@b", hour(2));
    book.tick(hour(48));
    assert_eq!(state_of(&book, "@b").0, InviteState::Left);
    join(&mut book, "@b", hour(50));
    assert_eq!(
        state_of(&book, "@b").0,
        InviteState::Left,
        "a return brings nothing new"
    );
    join(&mut book, "@c", hour(50));
    book.posted("g", "@c", hour(51));
    book.tick(hour(74));
    assert_eq!(book.counted("@a"), 1);
    let effects = book.left("g", "@c", hour(80));
    assert_eq!(state_of(&book, "@c").0, InviteState::Deducted);
    assert!(matches!(
        &effects[..],
        [Effect::Progress {
            counted: 0,
            missing: Some(2),
            ..
        }]
    ));
}

fn reach_two(book: &mut Book) {
    for invitee in ["@b", "@c"] {
        join(book, invitee, hour(0));
        book.posted("g", invitee, hour(1));
    }
    book.tick(hour(24));
}

#[test]
fn a_prize_is_held_then_granted_once() {
    let mut book = book(DOC);
    reach_two(&mut book);
    assert_eq!(prize_state(&book), Some(PrizeState::Approved));
    assert_eq!(grants(&book.tick(hour(71))), 0, "held 48 hours");
    assert_eq!(grants(&book.tick(hour(72))), 1);
    assert_eq!(grants(&book.tick(hour(100))), 0, "granted once");
    assert_eq!(prize_state(&book), Some(PrizeState::Granted));
    // A leave after payment reverses it.
    let effects = book.left("g", "@c", hour(101));
    assert!(effects.iter().any(|effect| matches!(effect, Effect::Reverse { prize } if prize.grant_key() == "task:spring:@a:2:0")));
    assert_eq!(prize_state(&book), Some(PrizeState::Reversed));
}

#[test]
fn a_leave_during_the_hold_withdraws_the_prize_and_reaching_again_is_a_new_round() {
    let mut book = book(DOC);
    reach_two(&mut book);
    book.left("g", "@c", hour(30));
    assert_eq!(prize_state(&book), Some(PrizeState::Withdrawn));
    assert_eq!(grants(&book.tick(hour(72))), 0);
    join(&mut book, "@d", hour(73));
    book.posted("g", "@d", hour(74));
    book.tick(hour(97));
    let row = book.prizes().next().unwrap().clone();
    assert_eq!((row.state, row.round), (PrizeState::Approved, 1));
    assert_eq!(row.due_at, hour(97 + 48));
}

#[test]
fn review_waits_for_an_operator_and_a_rejection_needs_a_reason() {
    let mut book = book(&DOC.replace("hold_hours = 48", "hold_hours = 0\nreview = true"));
    reach_two(&mut book);
    assert_eq!(prize_state(&book), Some(PrizeState::Pending));
    assert_eq!(
        grants(&book.tick(hour(500))),
        0,
        "nothing is paid before approval"
    );
    assert_eq!(
        book.decide("@a", 2, false, "ops", " "),
        Err(DecideError::NoReason)
    );
    assert_eq!(
        book.decide("@a", 3, true, "ops", ""),
        Err(DecideError::NotFound {
            inviter: "@a".into(),
            threshold: 3
        })
    );
    book.decide("@a", 2, true, "ops", "").unwrap();
    assert_eq!(
        book.decide("@a", 2, true, "ops", ""),
        Err(DecideError::NotPending(PrizeState::Approved))
    );
    assert_eq!(grants(&book.tick(hour(501))), 1);
    let (_, prizes) = book.take_changes();
    assert_eq!(prizes[0].decided_by.as_deref(), Some("ops"));
}

#[test]
fn the_cap_flags_invites_beyond_it_and_repeat_offenders_are_suspended() {
    let mut book = book(DOC);
    for (index, invitee) in ["@b", "@c", "@d", "@e"].iter().enumerate() {
        join(&mut book, invitee, hour(index as i64));
        book.posted("g", invitee, hour(10));
        book.tick(hour(24 + index as i64));
    }
    assert_eq!(book.counted("@a"), 3);
    assert_eq!(
        state_of(&book, "@e"),
        (InviteState::Flagged, vec![Flag::OverCap])
    );
    assert!(!book.suspended("@a"));
    join(&mut book, "@AAA", hour(30));
    assert!(book.suspended("@a"), "two flagged invites suspend");
    join(&mut book, "@f", hour(31));
    assert_eq!(
        state_of(&book, "@f"),
        (InviteState::Flagged, vec![Flag::Suspended])
    );
    assert_eq!(prize_state(&book), Some(PrizeState::Rejected));
}

#[test]
fn a_spent_pool_holds_prizes_back() {
    let doc = DOC.replace("hold_hours = 48", "hold_hours = 0") + "[pool]\npoints = 100\n";
    let mut book = book(&doc);
    reach_two(&mut book);
    assert_eq!(
        prize_state(&book),
        Some(PrizeState::Granted),
        "no hold: paid at the tick it was earned"
    );
    for (inviter, invitee) in [("@x", "@x1"), ("@x", "@x2")] {
        book.join(Join {
            chat: "g".into(),
            invitee: invitee.into(),
            inviter: inviter.into(),
            display_name: None,
            elsewhere: false,
            at: hour(30),
        });
        book.posted("g", invitee, hour(31));
    }
    assert_eq!(grants(&book.tick(hour(60))), 0);
    let row = book.prizes().find(|row| row.inviter == "@x").unwrap();
    assert_eq!(
        (row.state, row.note.as_str()),
        (PrizeState::Approved, "the campaign's pool is spent")
    );
}

#[test]
fn the_invitee_gift_comes_once_their_invite_counts() {
    let mut book = book(&(DOC.to_string() + "[invitee]\npoints = 10\n"));
    join(&mut book, "@b", hour(0));
    book.posted("g", "@b", hour(1));
    assert!(book.tick(hour(2)).is_empty());
    let effects = book.tick(hour(24));
    let gifts: Vec<_> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Gift { invitee, key, .. } => Some((invitee.as_str(), key.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(gifts, [("@b", "task:spring:gift:g:@b")]);
    assert!(book.tick(hour(25)).is_empty(), "once");
}

const COUPON_DOC: &str = r#"title = "邀请有礼"
platform = "sandbox"
groups = ["g"]
starts = "2026-01-01T00:00:00Z"
ends = "2027-01-01T00:00:00Z"
stay_hours = 24
[[thresholds]]
invites = 2
coupon = { type = "amount_off", cents = 1000 }
"#;

#[test]
fn a_coupon_prize_is_clawed_back_and_a_redeemed_one_is_kept_and_never_paid_again() {
    let mut book = book(COUPON_DOC);
    reach_two(&mut book);
    assert_eq!(grants(&book.tick(hour(25))), 0, "granted when counted");
    assert_eq!(prize_state(&book), Some(PrizeState::Granted));
    let effects = book.left("g", "@c", hour(30));
    let reversed: Vec<&TaskPrizeRow> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Reverse { prize } => Some(prize),
            _ => None,
        })
        .collect();
    assert_eq!(reversed.len(), 1, "{effects:?}");
    assert!(matches!(reversed[0].prize, TaskPrize::Coupon { .. }));
    assert_eq!(reversed[0].grant_key(), "task:spring:@a:2:0");
    assert_eq!(prize_state(&book), Some(PrizeState::Reversed));

    // The engine found the coupon redeemed: the prize is kept, and the book read back with it
    // pays nothing when the count reaches the threshold again.
    let (invites, mut prizes) = book.take_changes();
    let mut all_invites: Vec<TaskInvite> = book.invites().cloned().collect();
    all_invites.extend(invites);
    prizes[0].keep_redeemed_coupon("QZ-ABCDE-FGHIJ", hour(26));
    assert_eq!(prizes[0].state, PrizeState::Kept);
    assert!(
        prizes[0].note.contains("QZ-ABCDE-FGHIJ"),
        "{}",
        prizes[0].note
    );
    let mut again = Book::new(
        parse_campaign("spring", COUPON_DOC).unwrap(),
        all_invites,
        prizes,
    );
    join(&mut again, "@d", hour(31));
    again.posted("g", "@d", hour(32));
    let effects = again.tick(hour(56));
    assert_eq!(again.counted("@a"), 2);
    assert_eq!(
        grants(&effects),
        0,
        "a kept coupon is not paid twice: {effects:?}"
    );
    assert_eq!(prize_state(&again), Some(PrizeState::Kept));
}

/// 券 for both sides: each friend whose invite counts brings the inviter a coupon and the
/// friend their own, once each; a friend who never spoke (flagged) brings neither.
#[test]
fn a_coupon_for_both_sides_per_friend_who_stays() {
    let gifts = "[invitee]\ncoupon = { type = \"amount_off\", cents = 500 }\n[inviter]\ncoupon = { type = \"amount_off\", cents = 300 }\n";
    let mut book = book(&(DOC.to_string() + gifts));
    for (invitee, speaks) in [("@b", true), ("@c", true), ("@d", false)] {
        join(&mut book, invitee, hour(0));
        if speaks {
            book.posted("g", invitee, hour(1));
        }
    }
    let effects = book.tick(hour(24));
    let mut given: Vec<_> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Gift {
                invitee,
                key,
                prize,
                ..
            } => Some((
                invitee.as_str(),
                key.as_str(),
                matches!(
                    prize,
                    crate::TaskPrize::Coupon {
                        offer: qunzhu_domain::CouponOffer::AmountOff { cents: 300 },
                        ..
                    }
                ),
            )),
            _ => None,
        })
        .collect();
    given.sort();
    assert_eq!(
        given,
        [
            ("@a", "task:spring:inviter_gift:g:@b", true),
            ("@a", "task:spring:inviter_gift:g:@c", true),
            ("@b", "task:spring:gift:g:@b", false),
            ("@c", "task:spring:gift:g:@c", false),
        ]
    );
    assert!(book.tick(hour(25)).is_empty(), "once");
}
