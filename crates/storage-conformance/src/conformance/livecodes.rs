//! Conformance: live codes — a code belongs to one workspace, seats go to the first group with
//! room counted from present members (staff take none) and held seats, a visitor keeps their
//! seat, an expired hold frees it, concurrent scans never take more seats than there are, and
//! scans, joins, spares and alerts are counted once.

use qunzhu_domain::MemberRole;

use super::*;

fn record(ws: WorkspaceId, code: &str) -> LiveCodeRecord {
    LiveCodeRecord {
        workspace: ws,
        code: code.into(),
        platform: Platform::Sandbox,
        source: "title = \"x\"".into(),
        updated_by: "user:ops".into(),
        updated_at: at(0),
    }
}

fn request(
    code: &str,
    visitor: &str,
    channel: &str,
    minute: i64,
    caps: &[(&str, u32)],
) -> SeatRequest {
    SeatRequest {
        code: code.into(),
        platform: Platform::Sandbox,
        visitor: visitor.into(),
        channel: channel.into(),
        candidates: caps
            .iter()
            .map(|(chat, cap)| Candidate {
                chat: chat.to_string(),
                cap: *cap,
            })
            .collect(),
        at: at(minute),
        hold_until: at(minute + 30),
    }
}

async fn seat(store: &dyn Store, ws: WorkspaceId, request: SeatRequest) -> Option<(String, bool)> {
    store
        .take_seat(ws, request)
        .await
        .expect("seat")
        .map(|seat| (seat.chat, seat.new))
}

pub async fn livecodes_seat_visitors_within_capacity_and_count_channels(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    store.put_livecode(record(ws, "spring")).await.expect("put");
    assert!(matches!(
        store.put_livecode(record(other, "spring")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.livecode("spring").await.expect("code").workspace, ws);
    assert!(store.livecodes(other).await.expect("list").is_empty());
    assert!(matches!(
        store.livecode("nope").await,
        Err(StoreError::NotFound { .. })
    ));

    // g1 already has one member and an admin (staff take no seat).
    ingest(
        store,
        vec![
            event(ws, "e1", "g1", 0, joined("@old", "o")),
            event(ws, "e2", "g1", 0, joined("@staff", "s")),
        ],
        None,
    )
    .await;
    let admin = MemberUpdate {
        role: Some(MemberRole::Admin),
        ..MemberUpdate::default()
    };
    store
        .update_member(ws, Platform::Sandbox, &"@staff".into(), admin)
        .await
        .expect("role");
    let set = [("g1", 2), ("g2", 2)];
    assert_eq!(
        seat(store, ws, request("spring", "@v1", "store", 1, &set)).await,
        Some(("g1".into(), true))
    );
    assert_eq!(
        seat(store, ws, request("spring", "@v2", "xhs", 2, &set)).await,
        Some(("g2".into(), true)),
        "g1 is full: one member and one held seat"
    );
    assert_eq!(
        seat(store, ws, request("spring", "@v1", "xhs", 3, &set)).await,
        Some(("g1".into(), false)),
        "a visitor keeps their seat"
    );
    assert_eq!(
        seat(store, ws, request("spring", "@v3", "store", 4, &set)).await,
        Some(("g2".into(), true))
    );
    assert_eq!(
        seat(store, ws, request("spring", "@v4", "store", 5, &set)).await,
        None
    );
    let chats = ["g1".to_string(), "g2".to_string()];
    assert_eq!(
        store
            .seats_used(ws, Platform::Sandbox, &chats, at(5))
            .await
            .expect("used"),
        [2, 2]
    );
    // @v1 joins; the others' holds run out, so their seats are free again.
    ingest(
        store,
        vec![event(ws, "e3", "g1", 6, joined("@v1", "v"))],
        None,
    )
    .await;
    assert_eq!(
        store
            .seats_used(ws, Platform::Sandbox, &chats, at(40))
            .await
            .expect("used"),
        [2, 0]
    );
    assert_eq!(
        seat(store, ws, request("spring", "@v4", "direct", 41, &set)).await,
        Some(("g2".into(), true))
    );
    assert_eq!(
        seat(store, ws, request("spring", "@v1", "direct", 42, &set)).await,
        Some(("g1".into(), false)),
        "a joined visitor's seat stays theirs after the hold"
    );
    let attributed = store
        .seat_in(ws, Platform::Sandbox, "g1", "@v1")
        .await
        .expect("seat")
        .expect("a seat brought @v1");
    assert_eq!(
        (attributed.code.as_str(), attributed.channel.as_str()),
        ("spring", "store")
    );
    assert_eq!(
        store
            .seat_in(ws, Platform::Sandbox, "g1", "@old")
            .await
            .expect("seat"),
        None
    );
    assert!(store
        .seat_in(other, Platform::Sandbox, "g1", "@v1")
        .await
        .expect("seat")
        .is_none());

    for channel in ["store", "store", "xhs"] {
        store.count_scan(ws, "spring", channel).await.expect("scan");
    }
    let figures: Vec<_> = store
        .channel_figures(ws, "spring")
        .await
        .expect("figures")
        .into_iter()
        .map(|row| (row.channel, row.scans, row.seats, row.joins))
        .collect();
    assert_eq!(
        figures,
        [
            ("store".to_string(), 2, 2, 1),
            ("xhs".to_string(), 1, 1, 0),
            ("direct".to_string(), 0, 1, 0),
        ]
    );
    assert!(store
        .channel_figures(other, "spring")
        .await
        .expect("figures")
        .is_empty());

    let spare = SpareGroup {
        sequence: 3,
        key: "livecode:spring:spare:3".into(),
        chat: None,
        planned_at: at(5),
    };
    assert!(store
        .plan_spare(ws, "spring", spare.clone())
        .await
        .expect("plan"));
    assert!(
        !store.plan_spare(ws, "spring", spare).await.expect("plan"),
        "planned once"
    );
    store
        .adopt_spare(ws, "spring", 3, "g3")
        .await
        .expect("adopt");
    let spares = store.spares(ws, "spring").await.expect("spares");
    assert_eq!(spares.len(), 1);
    assert_eq!(spares[0].chat.as_deref(), Some("g3"));
    assert!(matches!(
        store.adopt_spare(other, "spring", 3, "g3").await,
        Err(StoreError::NotFound { .. })
    ));

    let alert = LiveCodeAlert {
        code: "spring".into(),
        kind: "spare_needed".into(),
        sequence: 3,
        message: "make group 3".into(),
        at: at(5),
    };
    assert!(store
        .raise_livecode_alert(ws, alert.clone())
        .await
        .expect("alert"));
    assert!(!store
        .raise_livecode_alert(ws, alert.clone())
        .await
        .expect("alert"));
    assert_eq!(store.livecode_alerts(ws).await.expect("alerts"), [alert]);
    assert!(store
        .livecode_alerts(other)
        .await
        .expect("alerts")
        .is_empty());
}

pub async fn concurrent_scans_never_take_more_seats_than_there_are(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    store.put_livecode(record(ws, "rush")).await.expect("put");
    let mut taken = 0;
    let results = twenty_scans(store, ws).await;
    for result in results {
        if result.is_some() {
            taken += 1;
        }
    }
    assert_eq!(taken, 5, "five seats, five visitors seated");
    let used = store
        .seats_used(ws, Platform::Sandbox, &["g".to_string()], at(1))
        .await
        .expect("used");
    assert_eq!(used, [5]);
}

async fn twenty_scans(store: &dyn Store, ws: WorkspaceId) -> Vec<Option<Seat>> {
    // Twenty scans at once, polled together, against five seats.
    let scans = (0..20).map(|index| async move {
        store
            .take_seat(
                ws,
                request("rush", &format!("@v{index}"), "direct", 1, &[("g", 5)]),
            )
            .await
            .expect("seat")
    });
    let mut out = Vec::new();
    let handles: Vec<_> = scans.map(Box::pin).collect();
    for result in join_all(handles).await {
        out.push(result);
    }
    out
}

/// Polls every future together (no extra dependency for `futures::join_all`).
async fn join_all<F: std::future::Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (index, future) in futures.iter_mut().enumerate() {
            if outputs[index].is_some() {
                continue;
            }
            match std::pin::Pin::new(future).poll(context) {
                std::task::Poll::Ready(output) => outputs[index] = Some(output),
                std::task::Poll::Pending => pending = true,
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
