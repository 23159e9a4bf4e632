//! Conformance: the outbox — claim order, leases, outcomes, dry runs, cancellation, concurrency.

use super::*;

pub async fn outbox_claims_in_order_with_leases_and_records_outcomes(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let later = send(ws, "b", "g", 5);
    let sooner = send(ws, "a", "g", 1);
    assert_eq!(
        store
            .enqueue(vec![later.clone(), sooner, later])
            .await
            .expect("enqueue"),
        2
    );
    assert!(
        store
            .claim_actions(claim(Platform::Sandbox, 0, 10, "x"))
            .await
            .expect("claim")
            .is_empty(),
        "nothing due yet"
    );
    assert!(
        store
            .claim_actions(claim(Platform::Matrix, 10, 10, "x"))
            .await
            .expect("claim")
            .is_empty(),
        "another platform's"
    );
    let claimed = store
        .claim_actions(claim(Platform::Sandbox, 10, 10, "x"))
        .await
        .expect("claim");
    assert_eq!(
        claimed
            .iter()
            .map(|action| action.key.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(claimed
        .iter()
        .all(|action| action.status == ActionStatus::InFlight));
    assert!(
        store
            .claim_actions(claim(Platform::Sandbox, 10, 10, "y"))
            .await
            .expect("claim")
            .is_empty(),
        "leased"
    );
    let again = store
        .claim_actions(claim(Platform::Sandbox, 12, 10, "y"))
        .await
        .expect("claim");
    assert_eq!(
        again.len(),
        2,
        "an expired lease makes the action due again"
    );
    let (a, b) = (again[0].id, again[1].id);
    store
        .finish_action(
            a,
            ActionOutcome::Done {
                receipt: Some("$ev".into()),
            },
            at(12),
        )
        .await
        .expect("finish");
    store
        .finish_action(
            b,
            ActionOutcome::Retry {
                at: at(20),
                error: "boom".into(),
            },
            at(12),
        )
        .await
        .expect("finish");
    let done = store.action(a).await.expect("action");
    assert_eq!(
        (
            done.status,
            done.attempts,
            done.receipt.as_deref(),
            done.done_at
        ),
        (ActionStatus::Done, 1, Some("$ev"), Some(at(12)))
    );
    let retried = store.action_by_key(ws, "b").await.expect("action");
    assert_eq!(
        (
            retried.status,
            retried.attempts,
            retried.next_attempt_at,
            retried.last_error.as_deref()
        ),
        (ActionStatus::Pending, 1, at(20), Some("boom"))
    );
    let b = store
        .claim_actions(claim(Platform::Sandbox, 20, 10, "x"))
        .await
        .expect("claim")[0]
        .id;
    store
        .finish_action(b, ActionOutcome::Defer { at: at(30) }, at(20))
        .await
        .expect("finish");
    assert_eq!(
        store.action(b).await.expect("action").attempts,
        1,
        "a deferral is not an attempt"
    );
    let b = store
        .claim_actions(claim(Platform::Sandbox, 30, 10, "x"))
        .await
        .expect("claim")[0]
        .id;
    store
        .finish_action(
            b,
            ActionOutcome::Dead {
                error: "no power".into(),
            },
            at(30),
        )
        .await
        .expect("finish");
    let dead = store.action(b).await.expect("action");
    assert_eq!(
        (dead.status, dead.attempts, dead.last_error.as_deref()),
        (ActionStatus::Dead, 2, Some("no power"))
    );
    let counts = store.action_counts(ws).await.expect("counts");
    assert_eq!((counts.done, counts.dead, counts.pending), (1, 1, 0));
    assert!(matches!(
        store
            .finish_action(
                ActionId(9_999_999),
                ActionOutcome::Done { receipt: None },
                at(0)
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let filtered = store
        .actions(
            ws,
            &ActionFilter {
                status: Some(ActionStatus::Dead),
                ..ActionFilter::default()
            },
        )
        .await
        .expect("actions");
    assert_eq!(filtered.len(), 1);
}

pub async fn dry_run_never_claimed_ledger_actions_only_by_the_ledger_and_cancel_skips(
    store: &dyn Store,
) {
    let ws = workspace(store, "a").await;
    let mut dry = send(ws, "dry", "g", 0);
    dry.dry_run = true;
    let mut reward = send(ws, "points", "g", 0);
    reward.kind = ActionKind::GrantReward {
        member: "@a".into(),
        points: 10,
        reason: "check-in".into(),
    };
    let mut planned = send(ws, "sop-1", "g", 60);
    planned.origin = qunzhu_domain::ActionOrigin::parse("sop:daily@v1/morning");
    let mut past = send(ws, "sop-0", "g", 0);
    past.origin = qunzhu_domain::ActionOrigin::parse("sop:daily@v1/morning");
    store
        .enqueue(vec![dry, reward, planned, past])
        .await
        .expect("enqueue");
    assert_eq!(
        store
            .cancel_actions(ws, "sop:daily@v1/", at(30), "plan edited")
            .await
            .expect("cancel"),
        1
    );
    let skipped = store.action_by_key(ws, "sop-1").await.expect("action");
    assert_eq!(
        (skipped.status, skipped.last_error.as_deref()),
        (ActionStatus::Skipped, Some("plan edited"))
    );
    let claimed = store
        .claim_actions(claim(Platform::Sandbox, 100, 10, "x"))
        .await
        .expect("claim");
    assert_eq!(
        claimed
            .iter()
            .map(|action| action.key.as_str())
            .collect::<Vec<_>>(),
        ["sop-0"]
    );
    store
        .finish_action(
            claimed[0].id,
            ActionOutcome::Skip {
                reason: "expired".into(),
            },
            at(100),
        )
        .await
        .expect("finish");
    let counts = store.action_counts(ws).await.expect("counts");
    assert_eq!((counts.dry_run, counts.pending, counts.skipped), (1, 1, 2));
    let ledger_claim = Claim {
        target: qunzhu_domain::ActionTarget::Ledger,
        ..claim(Platform::Sandbox, 100, 10, "ledger")
    };
    let claimed = store
        .claim_actions(ledger_claim.clone())
        .await
        .expect("claim");
    assert_eq!(
        claimed
            .iter()
            .map(|action| (action.key.as_str(), action.status))
            .collect::<Vec<_>>(),
        [("points", ActionStatus::InFlight)],
        "the ledger worker claims the reward and nothing else"
    );
    assert!(store
        .claim_actions(ledger_claim)
        .await
        .expect("claim")
        .is_empty());
}

pub async fn concurrent_claimers_never_share_an_action(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let actions = (0..60)
        .map(|index| send(ws, &format!("k{index}"), &format!("g{}", index % 7), 0))
        .collect();
    store.enqueue(actions).await.expect("enqueue");
    let (first, second) = tokio::join!(
        store.claim_actions(claim(Platform::Sandbox, 1, 40, "one")),
        store.claim_actions(claim(Platform::Sandbox, 1, 40, "two"))
    );
    let mut keys: Vec<String> = first
        .expect("claim")
        .into_iter()
        .chain(second.expect("claim"))
        .map(|action| action.key)
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(
        (keys.len(), total),
        (60, 60),
        "every action claimed exactly once"
    );
}

pub async fn action_keys_are_unique_per_workspace(store: &dyn Store) {
    let a = workspace(store, "a").await;
    let b = workspace(store, "b").await;
    // Two brands derive the same key from their own events: both actions are kept.
    assert_eq!(
        store
            .enqueue(vec![
                send(a, "welcome:e1", "g", 1),
                send(b, "welcome:e1", "g", 1)
            ])
            .await
            .expect("enqueue"),
        2
    );
    assert_eq!(
        store
            .enqueue(vec![send(a, "welcome:e1", "g", 1)])
            .await
            .expect("again"),
        0,
        "within one workspace a key is still written once"
    );
    let (in_a, in_b) = (
        store.action_by_key(a, "welcome:e1").await.expect("a's"),
        store.action_by_key(b, "welcome:e1").await.expect("b's"),
    );
    assert_ne!(in_a.id, in_b.id);
    assert_eq!((in_a.workspace, in_b.workspace), (a, b));
    let c = workspace(store, "c").await;
    assert!(matches!(
        store.action_by_key(c, "welcome:e1").await,
        Err(StoreError::NotFound { .. })
    ));
}
