//! Conformance: invite tasks — rows round-trip, the watermark is compare-and-set, a prize is
//! written only against its version, the review queue filters, page referrals keep the first.

use qunzhu_domain::{CouponOffer, InviteChange, InviteChannel};
use qunzhu_growth::{Flag, InviteState, PrizeState, TaskInvite, TaskPrize, TaskPrizeRow};

use super::*;

fn invite(invitee: &str, state: InviteState, flags: Vec<Flag>) -> TaskInvite {
    TaskInvite {
        campaign: CampaignId("spring".into()),
        chat: "g".into(),
        invitee: invitee.into(),
        inviter: "@a".into(),
        joined_at: at(1),
        posted_at: Some(at(2)),
        state,
        flags,
        counted_at: None,
        left_at: None,
    }
}

fn prize(threshold: u32, state: PrizeState, prize: TaskPrize) -> TaskPrizeRow {
    TaskPrizeRow {
        campaign: CampaignId("spring".into()),
        inviter: "@a".into(),
        threshold,
        round: 0,
        state,
        chat: "g".into(),
        earned_at: at(i64::from(threshold)),
        due_at: at(100),
        decided_by: None,
        note: String::new(),
        prize,
        version: 0,
    }
}

fn update(
    watermark: Option<(i64, i64)>,
    invites: Vec<TaskInvite>,
    prizes: Vec<TaskPrizeRow>,
) -> InviteTaskUpdate {
    InviteTaskUpdate {
        watermark,
        invites,
        prizes,
    }
}

pub async fn invite_tasks_keep_rows_versions_and_referrals(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let spring = CampaignId("spring".into());
    let other = workspace(store, "b").await;
    assert_eq!(store.invite_task_watermark(ws).await.unwrap(), 0);
    let points = prize(3, PrizeState::Pending, TaskPrize::Points { points: 100 });
    let coupon = prize(
        10,
        PrizeState::Approved,
        TaskPrize::Coupon {
            offer: CouponOffer::AmountOff { cents: 500 },
            valid_days: Some(30),
        },
    );
    let first = update(
        Some((0, 12)),
        vec![
            invite("@b", InviteState::Counted, vec![]),
            invite(
                "@c",
                InviteState::Flagged,
                vec![Flag::NamePattern, Flag::Burst],
            ),
        ],
        vec![points.clone(), coupon.clone()],
    );
    assert!(store.apply_invite_tasks(ws, first.clone()).await.unwrap());
    assert_eq!(store.invite_task_watermark(ws).await.unwrap(), 12);
    assert_eq!(store.invite_task_watermark(other).await.unwrap(), 0);
    // A round that started from a stale watermark writes nothing.
    assert!(!store
        .apply_invite_tasks(
            ws,
            update(
                Some((0, 20)),
                vec![invite("@z", InviteState::Waiting, vec![])],
                vec![]
            )
        )
        .await
        .unwrap());
    let (mut invites, mut prizes) = store.invite_task_rows(ws, &spring).await.unwrap();
    invites.sort_by(|a, b| a.invitee.cmp(&b.invitee));
    assert_eq!(invites, first.invites);
    prizes.sort_by_key(|row| row.threshold);
    assert_eq!(
        prizes.iter().map(|row| row.version).collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(prizes[1].prize, coupon.prize);
    assert!(store
        .invite_task_rows(other, &spring)
        .await
        .unwrap()
        .0
        .is_empty());

    // An operator approves against version 1; the consumer's stale copy of version 1 then loses.
    let mut approved = prizes[0].clone();
    approved.state = PrizeState::Approved;
    approved.decided_by = Some("ops".into());
    assert!(store
        .apply_invite_tasks(ws, update(None, vec![], vec![approved]))
        .await
        .unwrap());
    let mut stale = prizes[0].clone();
    stale.state = PrizeState::Withdrawn;
    let lost = update(
        Some((12, 15)),
        vec![invite("@b", InviteState::Deducted, vec![])],
        vec![stale],
    );
    assert!(!store.apply_invite_tasks(ws, lost).await.unwrap());
    assert_eq!(
        store.invite_task_watermark(ws).await.unwrap(),
        12,
        "the losing round moved nothing"
    );
    let (invites, _) = store.invite_task_rows(ws, &spring).await.unwrap();
    assert!(invites
        .iter()
        .any(|row| row.invitee == "@b" && row.state == InviteState::Counted));
    // A second insert of a row that exists (version 0) loses too.
    assert!(!store
        .apply_invite_tasks(ws, update(None, vec![], vec![points]))
        .await
        .unwrap());

    let queue = |state: Option<PrizeState>| PrizeFilter {
        campaign: Some(spring.clone()),
        state,
        inviter: None,
    };
    let approved = store
        .task_prizes(ws, &queue(Some(PrizeState::Approved)), 10)
        .await
        .unwrap();
    assert_eq!(
        approved
            .iter()
            .map(|row| (row.threshold, row.version))
            .collect::<Vec<_>>(),
        [(10, 1), (3, 2)]
    );
    assert_eq!(approved[1].decided_by.as_deref(), Some("ops"));
    assert!(store
        .task_prizes(ws, &queue(Some(PrizeState::Pending)), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.task_prizes(ws, &queue(None), 1).await.unwrap().len(),
        1
    );
    assert!(store
        .task_prizes(other, &queue(None), 10)
        .await
        .unwrap()
        .is_empty());

    // Presence elsewhere reads the invites read model.
    let joined = |chat: &str, invitee: &str| InviteChange::Joined {
        platform: Platform::Sandbox,
        chat: chat.into(),
        invitee: invitee.into(),
        inviter: None,
        channel: InviteChannel::Direct,
        code: None,
        campaign: None,
        at: at(1),
    };
    store
        .apply_invite_changes(ws, vec![joined("h", "@b"), joined("g", "@c")], 5)
        .await
        .unwrap();
    assert!(store
        .present_elsewhere(ws, Platform::Sandbox, "@b", "g")
        .await
        .unwrap());
    assert!(!store
        .present_elsewhere(ws, Platform::Sandbox, "@b", "h")
        .await
        .unwrap());
    assert!(!store
        .present_elsewhere(ws, Platform::Sandbox, "@c", "g")
        .await
        .unwrap());
    assert!(!store
        .present_elsewhere(other, Platform::Sandbox, "@b", "g")
        .await
        .unwrap());

    let referral = |code: &str, minute: i64| PageReferral {
        platform: Platform::Matrix,
        chat: "!g:hs".into(),
        visitor: "@v:hs".into(),
        code: code.into(),
        at: at(minute),
    };
    assert_eq!(
        store
            .page_referral(ws, Platform::Matrix, "!g:hs", "@v:hs")
            .await
            .unwrap(),
        None
    );
    let (kept, created) = store
        .put_page_referral(ws, referral("c1", 1))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(kept, referral("c1", 1));
    let (kept, created) = store
        .put_page_referral(ws, referral("c2", 2))
        .await
        .unwrap();
    assert!(!created, "the first referral stays");
    assert_eq!(kept.code, "c1");
    assert_eq!(
        store
            .page_referral(ws, Platform::Matrix, "!g:hs", "@v:hs")
            .await
            .unwrap(),
        Some(referral("c1", 1))
    );
    assert_eq!(
        store
            .page_referral(other, Platform::Matrix, "!g:hs", "@v:hs")
            .await
            .unwrap(),
        None
    );
}
