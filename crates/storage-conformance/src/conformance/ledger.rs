//! Conformance: the points ledger — postings as the domain reducer decides them, balances as a
//! read model, the reward catalogue and redemptions, concurrency, and a random-batch property.

use qunzhu_domain::{Account, AccountKind, Entry, Ledger, NewEntry, Reason};

use super::*;

fn member(user: &str) -> Account {
    Account::member(Platform::Sandbox, user)
}

fn grant(key: &str, to: Account, amount: i64) -> NewEntry {
    NewEntry {
        key: key.into(),
        reason: Reason::CheckIn,
        cause: Some(format!("action:{key}")),
        from: Account::Issuance,
        to,
        amount,
        at: at(0),
        memo: "check-in".into(),
        reverses: None,
    }
}

fn transfer(key: &str, from: Account, to: Account, amount: i64) -> NewEntry {
    NewEntry {
        reason: Reason::Manual,
        from,
        ..grant(key, to, amount)
    }
}

fn outcome(posting: &Posting) -> &'static str {
    match posting {
        Posting::Applied { .. } => "applied",
        Posting::Duplicate { .. } => "duplicate",
        Posting::Refused { .. } => "refused",
    }
}

pub async fn ledger_posts_dedupes_refuses_and_reverses(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let (a, b) = (member("@a"), member("@b"));
    let postings = store
        .post_entries(
            ws,
            vec![
                grant("g1", a.clone(), 10),
                grant("g1", a.clone(), 10),
                transfer("t1", a.clone(), b.clone(), 4),
                transfer("t2", b.clone(), a.clone(), 5),
            ],
        )
        .await
        .expect("post");
    assert_eq!(
        postings.iter().map(outcome).collect::<Vec<_>>(),
        ["applied", "duplicate", "applied", "refused"]
    );
    let Posting::Refused { error } = &postings[3] else {
        unreachable!()
    };
    assert_eq!(
        error.to_string(),
        "entry `t2`: `member:sandbox:@b` holds 4, cannot pay 5"
    );
    let first_id = postings[0].entry().map(|entry| entry.id).unwrap_or(0);
    assert!(first_id > 0, "applied entries carry their stored id");
    assert_eq!(postings[1].entry().map(|entry| entry.id), Some(first_id));
    let again = store
        .post_entries(ws, vec![grant("g1", a.clone(), 99)])
        .await
        .expect("post");
    assert!(
        matches!(&again[0], Posting::Duplicate { entry } if entry.body.amount == 10 && entry.id == first_id)
    );
    assert_eq!(store.balance(ws, &a).await.expect("balance"), 6);
    assert_eq!(store.balance(ws, &b).await.expect("balance"), 4);
    assert_eq!(
        store
            .balance(ws, &Account::Issuance)
            .await
            .expect("balance"),
        -10
    );
    assert_eq!(
        store
            .balance(ws, &member("@nobody"))
            .await
            .expect("balance"),
        0
    );

    let original = store.ledger_entry(ws, "t1").await.expect("entry");
    let undo = qunzhu_domain::ledger::reversal(&original, "undo-t1".into(), at(5), "oops".into());
    let twice = qunzhu_domain::ledger::reversal(&original, "undo-t1-b".into(), at(5), "".into());
    let postings = store
        .post_entries(ws, vec![undo, twice])
        .await
        .expect("post");
    assert_eq!(
        postings.iter().map(outcome).collect::<Vec<_>>(),
        ["applied", "refused"]
    );
    let twice = qunzhu_domain::ledger::reversal(&original, "undo-t1-c".into(), at(6), "".into());
    let later = store.post_entries(ws, vec![twice]).await.expect("post");
    assert!(
        matches!(
            &later[0],
            Posting::Refused {
                error: qunzhu_domain::LedgerError::AlreadyReversed { .. }
            }
        ),
        "a stored reversal is seen by a later batch: {later:?}"
    );
    assert_eq!(store.balance(ws, &a).await.expect("balance"), 10);
    assert_eq!(
        store
            .balances(ws, Some(AccountKind::Member), 10)
            .await
            .expect("balances"),
        vec![(a.clone(), 10), (b.clone(), 0)]
    );
    let history = store
        .ledger_entries(ws, Some(&a), 10)
        .await
        .expect("entries");
    assert_eq!(
        history
            .iter()
            .map(|entry| entry.body.key.as_str())
            .collect::<Vec<_>>(),
        ["undo-t1", "t1", "g1"],
        "newest first"
    );
    assert_eq!(history[0].body.reverses.as_deref(), Some("t1"));
    assert!(matches!(
        store.ledger_entry(ws, "ghost").await,
        Err(StoreError::NotFound { .. })
    ));
    let other = workspace(store, "b").await;
    assert_eq!(store.balance(other, &a).await.expect("balance"), 0);
    assert!(store
        .ledger_entries(other, None, 10)
        .await
        .expect("entries")
        .is_empty());
}

pub async fn ledger_catalogue_and_redemptions(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let a = member("@a");
    store
        .post_entries(ws, vec![grant("g", a.clone(), 100)])
        .await
        .expect("post");
    let bad = Reward {
        code: "mug".into(),
        name: "马克杯".into(),
        cost: 0,
        stock: None,
        active: true,
    };
    assert!(matches!(
        store.put_reward(ws, bad.clone()).await,
        Err(StoreError::Invalid { field: "cost", .. })
    ));
    store
        .put_reward(
            ws,
            Reward {
                cost: 40,
                stock: Some(2),
                ..bad.clone()
            },
        )
        .await
        .expect("reward");
    store
        .put_reward(
            ws,
            Reward {
                code: "old".into(),
                cost: 1,
                active: false,
                ..bad.clone()
            },
        )
        .await
        .expect("reward");
    let redeem = |request: &str, code: &str, member: &Account| Redeem {
        member: member.clone(),
        reward: code.into(),
        request: request.into(),
        at: at(10),
    };
    let first = store
        .redeem(ws, redeem("shop-1", "mug", &a))
        .await
        .expect("redeem");
    assert_eq!(
        (outcome(&first.posting), first.reward.stock),
        ("applied", Some(1))
    );
    let retried = store
        .redeem(ws, redeem("shop-1", "mug", &a))
        .await
        .expect("redeem");
    assert_eq!(
        (outcome(&retried.posting), retried.reward.stock),
        ("duplicate", Some(1)),
        "a retried request spends once"
    );
    let second = store
        .redeem(ws, redeem("shop-2", "mug", &a))
        .await
        .expect("redeem");
    assert_eq!(outcome(&second.posting), "applied");
    assert_eq!(store.balance(ws, &a).await.expect("balance"), 20);
    assert!(matches!(
        store.redeem(ws, redeem("shop-3", "mug", &a)).await,
        Err(StoreError::Invalid { field: "reward", message }) if message == "`mug` is out of stock"
    ));
    assert!(matches!(
        store.redeem(ws, redeem("shop-4", "old", &a)).await,
        Err(StoreError::Invalid { field: "reward", message }) if message == "`old` is not offered"
    ));
    assert!(matches!(
        store.redeem(ws, redeem("shop-5", "ghost", &a)).await,
        Err(StoreError::NotFound {
            object: "reward",
            ..
        })
    ));
    store
        .put_reward(
            ws,
            Reward {
                code: "tea".into(),
                cost: 30,
                stock: None,
                ..bad
            },
        )
        .await
        .expect("reward");
    let poor = store
        .redeem(ws, redeem("shop-6", "tea", &a))
        .await
        .expect("redeem");
    assert!(
        matches!(&poor.posting, Posting::Refused { error } if error.to_string().contains("holds 20, cannot pay 30"))
    );
    assert_eq!(
        store
            .rewards(ws)
            .await
            .expect("rewards")
            .iter()
            .map(|reward| (reward.code.as_str(), reward.stock))
            .collect::<Vec<_>>(),
        [("mug", Some(0)), ("old", None), ("tea", None)]
    );
    assert_eq!(
        store
            .balance(ws, &Account::Redeemed)
            .await
            .expect("balance"),
        80
    );
}

pub async fn concurrent_postings_never_overdraw_or_double(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let a = member("@a");
    store
        .post_entries(ws, vec![grant("seed", a.clone(), 50)])
        .await
        .expect("post");
    // Eight writers each repeat the same ten grants and try to spend 10 points five times.
    let writer = |index: usize| {
        let a = a.clone();
        async move {
            let mut batch: Vec<NewEntry> = (0..10)
                .map(|grant_index| grant(&format!("g{grant_index}"), a.clone(), 1))
                .collect();
            batch.extend((0..5).map(|spend| {
                transfer(
                    &format!("s{index}-{spend}"),
                    a.clone(),
                    Account::Redeemed,
                    10,
                )
            }));
            store.post_entries(ws, batch).await.expect("post")
        }
    };
    let results = futures_join_all((0..8).map(writer).collect()).await;
    let applied_grants = results
        .iter()
        .flat_map(|postings| postings[..10].iter())
        .filter(|posting| matches!(posting, Posting::Applied { .. }))
        .count();
    let applied_spends = results
        .iter()
        .flat_map(|postings| postings[10..].iter())
        .filter(|posting| matches!(posting, Posting::Applied { .. }))
        .count();
    assert_eq!(applied_grants, 10, "each grant stored once");
    assert_eq!(applied_spends, 6, "60 points cover six spends of 10");
    assert_eq!(store.balance(ws, &a).await.expect("balance"), 0);
}

/// Runs futures concurrently without a dependency on the futures crate.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A random ledger history: batches of grants, transfers, spends, repeats and reversals.
pub type LedgerScript = Vec<Vec<(u8, usize, usize, i64)>>;

pub fn ledger_script() -> impl Strategy<Value = LedgerScript> {
    proptest::collection::vec(
        proptest::collection::vec((0u8..5, 0usize..4, 0usize..40, 1i64..40), 1..8),
        1..8,
    )
}

/// Posts the script to the store and to the domain reducer: every outcome and balance agrees,
/// nothing is negative, and replaying the stored entries gives the stored balances.
pub async fn ledger_matches_the_reducer(store: &dyn Store, script: LedgerScript) {
    let ws = workspace(store, "p").await;
    let accounts = [
        member("@a"),
        member("@b"),
        Account::Pool { name: "p".into() },
        Account::Campaign { name: "c".into() },
    ];
    let mut reducer = Ledger::new();
    let mut keys: Vec<String> = Vec::new();
    let mut counter = 0usize;
    for batch in script {
        let mut entries = Vec::new();
        for (op, account, pick, amount) in batch {
            counter += 1;
            let key = format!("k{counter}");
            let account = accounts[account].clone();
            let next = accounts[pick % accounts.len()].clone();
            let entry = match op {
                0 => grant(&key, account, amount),
                1 => transfer(&key, account, next, amount),
                2 => transfer(&key, account, Account::Redeemed, amount),
                3 if !keys.is_empty() => grant(&keys[pick % keys.len()], account, amount),
                4 if !keys.is_empty() => {
                    let original = &keys[pick % keys.len()];
                    match reducer.entry(original) {
                        Some(entry) => qunzhu_domain::ledger::reversal(
                            entry,
                            format!("r{counter}"),
                            at(1),
                            String::new(),
                        ),
                        None => continue,
                    }
                }
                _ => continue,
            };
            keys.push(entry.key.clone());
            entries.push(entry);
        }
        let expected: Vec<&'static str> = entries
            .iter()
            .map(|entry| match reducer.post(entry.clone()) {
                Ok(qunzhu_domain::Posted::Applied(_)) => "applied",
                Ok(qunzhu_domain::Posted::Duplicate(_)) => "duplicate",
                Err(_) => "refused",
            })
            .collect();
        let postings = store.post_entries(ws, entries).await.expect("post");
        assert_eq!(postings.iter().map(outcome).collect::<Vec<_>>(), expected);
    }
    let stored: Vec<(Account, i64)> = store.balances(ws, None, 1000).await.expect("balances");
    for (account, balance) in &stored {
        assert!(
            account.may_go_negative() || *balance >= 0,
            "{account} at {balance}"
        );
        assert_eq!(*balance, reducer.balance(account), "{account}");
    }
    let moved = reducer
        .balances()
        .iter()
        .filter(|(_, balance)| **balance != 0)
        .count();
    assert_eq!(
        stored.iter().filter(|(_, balance)| *balance != 0).count(),
        moved
    );
    let mut entries: Vec<Entry> = store
        .ledger_entries(ws, None, 100_000)
        .await
        .expect("entries");
    entries.reverse();
    let replayed = Ledger::replay(&entries).expect("the stored entries replay");
    for (account, balance) in &stored {
        assert_eq!(replayed.balance(account), *balance, "replayed {account}");
    }
}
