//! Conformance: orders — nonces remembered for their window, one row per order id, revenue per
//! push and campaign, the showcase watermark, campaign totals from costs, invites and the
//! ledger, commissions once per order and rule, and their statement.

use qunzhu_domain::{Account, InviteChange, InviteChannel, NewEntry, Reason};

use super::*;

fn order(id: &str, member: &str, cents: i64, minute: i64) -> Order {
    Order {
        order_id: id.into(),
        platform: Platform::Sandbox,
        member: member.into(),
        amount_cents: cents,
        currency: "CNY".into(),
        items: vec!["tea".into()],
        coupon: None,
        link_token: None,
        refund_of: None,
        at: at(minute),
        chat: Some("g".into()),
        push: None,
        campaign: None,
        live_code: None,
        inviter: None,
        showcase_until: None,
        showcase_message: None,
        showcase_at: None,
    }
}

fn entry(key: &str, from: Account, to: Account, amount: i64, reverses: Option<&str>) -> NewEntry {
    NewEntry {
        key: key.into(),
        reason: if reverses.is_some() {
            Reason::Reversal
        } else {
            Reason::Invite
        },
        cause: None,
        from,
        to,
        amount,
        at: at(0),
        memo: String::new(),
        reverses: reverses.map(String::from),
    }
}

pub async fn orders_are_recorded_once_attributed_and_totalled(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;

    // Nonces: remembered until they expire, per workspace.
    assert!(store
        .remember_nonce(ws, "n1", at(0), at(5))
        .await
        .expect("nonce"));
    assert!(!store
        .remember_nonce(ws, "n1", at(1), at(6))
        .await
        .expect("nonce"));
    assert!(store
        .remember_nonce(other, "n1", at(1), at(6))
        .await
        .expect("nonce"));
    assert!(store
        .remember_nonce(ws, "n1", at(7), at(12))
        .await
        .expect("nonce after expiry"));

    // One row per order id; a repeat answers the stored one unchanged.
    let first = Order {
        push: Some("sop:p/s/1".into()),
        campaign: Some("spring".into()),
        showcase_until: Some(at(60)),
        ..order("o1", "@buyer", 10_000, 1)
    };
    let recorded = store.record_order(ws, first.clone()).await.expect("record");
    assert_eq!(
        recorded,
        OrderRecorded::New {
            order: first.clone()
        }
    );
    let again = store
        .record_order(
            ws,
            Order {
                amount_cents: 1,
                ..first.clone()
            },
        )
        .await
        .expect("record again");
    assert_eq!(
        again,
        OrderRecorded::Duplicate {
            order: first.clone()
        }
    );
    assert_eq!(store.order(ws, "o1").await.expect("order"), first);
    assert!(matches!(
        store.order(other, "o1").await,
        Err(StoreError::NotFound { .. })
    ));

    let second = Order {
        push: Some("sop:p/s/1".into()),
        campaign: Some("spring".into()),
        ..order("o2", "@other", 5_000, 2)
    };
    let refund = Order {
        push: Some("sop:p/s/1".into()),
        campaign: Some("spring".into()),
        refund_of: Some("o2".into()),
        ..order("r2", "@other", -2_000, 3)
    };
    let elsewhere = Order {
        push: Some("sop:p/s/2".into()),
        ..order("o3", "@buyer", 700, 4)
    };
    for order in [second, refund, elsewhere] {
        store.record_order(ws, order).await.expect("record");
    }
    let listed: Vec<String> = store
        .orders(ws, at(0), at(4), 10)
        .await
        .expect("orders")
        .into_iter()
        .map(|order| order.order_id)
        .collect();
    assert_eq!(listed, ["r2", "o2", "o1"], "newest first, until excluded");

    let revenue = store
        .push_revenue(
            ws,
            &["sop:p/s/1".into(), "sop:p/s/2".into(), "sop:none".into()],
        )
        .await
        .expect("push revenue");
    assert_eq!(
        revenue,
        vec![
            Revenue {
                key: "sop:p/s/1".into(),
                orders: 2,
                buyers: 2,
                revenue_cents: 13_000
            },
            Revenue {
                key: "sop:p/s/2".into(),
                orders: 1,
                buyers: 1,
                revenue_cents: 700
            },
        ]
    );
    assert!(store
        .push_revenue(other, &["sop:p/s/1".into()])
        .await
        .expect("scoped")
        .is_empty());

    // Showcases: open until posted; the watermark moves only from where it was.
    assert_eq!(store.showcase_watermark(ws).await.expect("watermark"), 0);
    let open = store.open_showcases(ws, at(30)).await.expect("open");
    assert_eq!(
        open.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(),
        ["o1"]
    );
    assert!(
        store
            .open_showcases(ws, at(61))
            .await
            .expect("open")
            .is_empty(),
        "window over"
    );
    let post = ShowcasePost {
        order_id: "o1".into(),
        message_id: "m1".into(),
        at: at(20),
    };
    assert!(store
        .apply_showcases(ws, vec![post.clone()], 0, 9)
        .await
        .expect("apply"));
    assert!(
        !store
            .apply_showcases(ws, vec![], 0, 12)
            .await
            .expect("stale"),
        "watermark moved"
    );
    let later = ShowcasePost {
        message_id: "m2".into(),
        ..post
    };
    assert!(store
        .apply_showcases(ws, vec![later], 9, 12)
        .await
        .expect("apply"));
    assert_eq!(store.showcase_watermark(ws).await.expect("watermark"), 12);
    let shown = store.order(ws, "o1").await.expect("order");
    assert_eq!(
        shown.showcase_message.as_deref(),
        Some("m1"),
        "the first post counts"
    );
    assert_eq!(shown.showcase_at, Some(at(20)));
    assert!(store
        .open_showcases(ws, at(30))
        .await
        .expect("open")
        .is_empty());

    // Campaign totals: entered costs (once per key), acquisitions, ledger payouts, revenue.
    let cost = CampaignCost {
        key: "req-1".into(),
        campaign: "spring".into(),
        amount_cents: 3_000,
        memo: "prizes".into(),
        at: at(0),
    };
    store
        .add_campaign_cost(ws, cost.clone())
        .await
        .expect("cost");
    let repeat = store
        .add_campaign_cost(
            ws,
            CampaignCost {
                amount_cents: 9,
                ..cost.clone()
            },
        )
        .await
        .expect("cost");
    assert_eq!(repeat, (cost.clone(), false));
    store
        .add_campaign_cost(
            ws,
            CampaignCost {
                key: "req-2".into(),
                campaign: "autumn".into(),
                amount_cents: 500,
                ..cost
            },
        )
        .await
        .expect("cost");
    let joined = |invitee: &str, campaign: Option<&str>| InviteChange::Joined {
        platform: Platform::Sandbox,
        chat: "g".into(),
        invitee: invitee.into(),
        inviter: Some("@inviter".into()),
        channel: InviteChannel::Link,
        code: Some("c1".into()),
        campaign: campaign.map(String::from),
        at: at(0),
    };
    store
        .apply_invite_changes(
            ws,
            vec![
                joined("@buyer", Some("spring")),
                joined("@other", Some("spring")),
                joined("@x", None),
            ],
            5,
        )
        .await
        .expect("invites");
    let spring = Account::Campaign {
        name: "spring".into(),
    };
    let member = |user: &str| Account::member(Platform::Sandbox, user);
    store
        .post_entries(
            ws,
            vec![
                entry("fund", Account::Issuance, spring.clone(), 1_000, None),
                entry("g1", spring.clone(), member("@inviter"), 300, None),
                entry("g2", spring.clone(), member("@inviter"), 200, None),
                entry(
                    "undo-g2",
                    member("@inviter"),
                    spring.clone(),
                    200,
                    Some("g2"),
                ),
            ],
        )
        .await
        .expect("post");
    let totals = store.campaign_totals(ws).await.expect("totals");
    assert_eq!(
        totals,
        vec![
            CampaignTotals {
                campaign: "autumn".into(),
                entered_cents: 500,
                acquired: 0,
                reward_points: 0,
                revenue: Revenue {
                    key: "autumn".into(),
                    ..Revenue::default()
                },
            },
            CampaignTotals {
                campaign: "spring".into(),
                entered_cents: 3_000,
                acquired: 2,
                reward_points: 300,
                revenue: Revenue {
                    key: "spring".into(),
                    orders: 2,
                    buyers: 2,
                    revenue_cents: 13_000
                },
            },
        ]
    );
    assert!(store
        .campaign_totals(other)
        .await
        .expect("scoped")
        .is_empty());

    // Commissions: once per (order, rule); the statement sums a period per earner.
    let commission =
        |order: &str, rule: &str, earner: &str, cents: i64, minute: i64| CommissionRow {
            order_id: order.into(),
            rule: rule.into(),
            platform: Platform::Sandbox,
            earner: earner.into(),
            amount_cents: cents,
            at: at(minute),
        };
    let new = store
        .record_commissions(
            ws,
            vec![
                commission("o1", "seller", "@amy", 500, 1),
                commission("o2", "seller", "@amy", 250, 2),
                commission("o2", "builder", "@own", 500, 2),
            ],
        )
        .await
        .expect("commissions");
    assert_eq!(new, 3);
    let new = store
        .record_commissions(
            ws,
            vec![
                commission("o1", "seller", "@amy", 999, 1),
                commission("r2", "seller", "@amy", -100, 3),
            ],
        )
        .await
        .expect("commissions");
    assert_eq!(new, 1, "a repeated (order, rule) is kept as first recorded");
    let statement = store
        .commission_statement(ws, at(0), at(3))
        .await
        .expect("statement");
    let show: Vec<(String, u64, i64)> = statement
        .iter()
        .map(|line| (line.earner.clone(), line.orders, line.amount_cents))
        .collect();
    assert_eq!(show, vec![("@amy".into(), 2, 750), ("@own".into(), 1, 500)]);
    let statement = store
        .commission_statement(ws, at(0), at(10))
        .await
        .expect("statement");
    assert_eq!(
        statement[0].amount_cents, 650,
        "the refund's clawback is in its period"
    );
    assert!(store
        .commission_statement(other, at(0), at(10))
        .await
        .expect("scoped")
        .is_empty());
}

pub async fn earners_and_arrivals_come_from_the_read_models(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let joins: Vec<Event> = ["@own", "@a", "@b", "@c"]
        .iter()
        .enumerate()
        .map(|(index, member)| {
            event(
                ws,
                &format!("j{index}"),
                "big",
                index as i64,
                joined(member, member),
            )
        })
        .chain([event(ws, "j9", "small", 9, joined("@a", "@a"))])
        .collect();
    ingest(store, joins, None).await;
    let arrival =
        |chat: &str, invitee: &str, inviter: Option<&str>, campaign: Option<&str>, minute: i64| {
            InviteChange::Joined {
                platform: Platform::Sandbox,
                chat: chat.into(),
                invitee: invitee.into(),
                inviter: inviter.map(String::from),
                channel: InviteChannel::Link,
                code: Some("code-1".into()),
                campaign: campaign.map(String::from),
                at: at(minute),
            }
        };
    store
        .apply_invite_changes(
            ws,
            vec![
                arrival("big", "@a", Some("@own"), Some("spring"), 1),
                arrival("big", "@b", Some("@own"), None, 2),
                arrival("small", "@a", None, None, 9),
                InviteChange::Left {
                    platform: Platform::Sandbox,
                    chat: "big".into(),
                    invitee: "@b".into(),
                    at: at(10),
                },
            ],
            5,
        )
        .await
        .expect("invites");
    let arrivals = store
        .member_arrivals(ws, Platform::Sandbox, "@a")
        .await
        .expect("arrivals");
    let show: Vec<(String, Option<String>)> = arrivals
        .iter()
        .map(|a| (a.chat.clone(), a.campaign.clone()))
        .collect();
    assert_eq!(
        show,
        vec![
            ("big".into(), Some("spring".into())),
            ("small".into(), None)
        ],
        "oldest first"
    );
    assert!(store
        .member_arrivals(ws, Platform::Sandbox, "@nobody")
        .await
        .expect("arrivals")
        .is_empty());

    assert_eq!(
        store
            .earner_facts(ws, Platform::Sandbox, "@own")
            .await
            .expect("facts"),
        (0, 1),
        "owns nothing yet; @b left"
    );
    store
        .set_group_owner(ws, Platform::Sandbox, "small", "@own")
        .await
        .expect("owner");
    assert_eq!(
        store
            .earner_facts(ws, Platform::Sandbox, "@own")
            .await
            .expect("facts"),
        (1, 1)
    );
    store
        .set_group_owner(ws, Platform::Sandbox, "big", "@own")
        .await
        .expect("owner");
    assert_eq!(
        store
            .earner_facts(ws, Platform::Sandbox, "@own")
            .await
            .expect("facts"),
        (4, 1),
        "the largest group counts"
    );
}
