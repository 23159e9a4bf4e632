//! Conformance: landing pages — counters add up per page and channel, a phone is one lead per
//! page (its `phones` counter counted once), leads read newest first, deletions and forgetting a
//! phone remove exactly their rows, and nothing crosses workspaces.

use super::*;

fn lead(page: &str, channel: &str, hash: &str, minute: i64) -> NewLead {
    NewLead {
        page: page.into(),
        channel: channel.into(),
        phone_hash: hash.into(),
        cipher: format!("sealed-{hash}-{minute}"),
        at: at(minute),
    }
}

fn counts(rows: &[ChannelCounts]) -> Vec<(String, String, i64, i64, i64)> {
    rows.iter()
        .map(|row| {
            (
                row.page.clone(),
                row.channel.clone(),
                row.views,
                row.phones,
                row.joins,
            )
        })
        .collect()
}

pub async fn landing_counters_and_leads_are_kept_once_and_forgotten(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    for (page, channel, hit) in [
        ("spring", "xhs", LandingHit::View),
        ("spring", "xhs", LandingHit::View),
        ("spring", "direct", LandingHit::View),
        ("spring", "xhs", LandingHit::Join),
        ("autumn", "store", LandingHit::View),
    ] {
        store
            .count_landing(ws, page, channel, hit)
            .await
            .expect("count");
    }
    store
        .count_landing(other, "spring", "xhs", LandingHit::View)
        .await
        .expect("count in b");
    let (first, new) = store
        .record_lead(ws, lead("spring", "xhs", "h1", 1))
        .await
        .expect("lead");
    assert!(new);
    // The same phone again, through another channel: the same lead, counted once.
    let (again, new) = store
        .record_lead(ws, lead("spring", "store", "h1", 2))
        .await
        .expect("lead");
    assert_eq!((again, new), (first, false));
    let (second, new) = store
        .record_lead(ws, lead("spring", "xhs", "h2", 3))
        .await
        .expect("lead");
    assert!(new && second != first);
    // The same phone on another page is that page's lead.
    let (on_autumn, new) = store
        .record_lead(ws, lead("autumn", "store", "h1", 4))
        .await
        .expect("lead");
    assert!(new && on_autumn != first);
    store
        .record_lead(other, lead("spring", "xhs", "h1", 5))
        .await
        .expect("lead in b");

    let expected = |rows: &[(&str, &str, i64, i64, i64)]| -> Vec<(String, String, i64, i64, i64)> {
        rows.iter()
            .map(|(p, c, v, ph, j)| (p.to_string(), c.to_string(), *v, *ph, *j))
            .collect()
    };
    assert_eq!(
        counts(&store.landing_counts(ws, None).await.expect("counts")),
        expected(&[
            ("autumn", "store", 1, 1, 0),
            ("spring", "direct", 1, 0, 0),
            ("spring", "xhs", 2, 2, 1),
        ])
    );
    assert_eq!(
        counts(
            &store
                .landing_counts(ws, Some("spring"))
                .await
                .expect("counts")
        )
        .len(),
        2
    );
    assert_eq!(
        counts(&store.landing_counts(other, None).await.expect("counts")),
        expected(&[("spring", "xhs", 1, 1, 0)])
    );

    let leads = store.leads(ws, "spring", 10).await.expect("leads");
    assert_eq!(
        leads.iter().map(|l| l.id).collect::<Vec<_>>(),
        [second, first]
    );
    assert_eq!(leads[1].cipher, "sealed-h1-1", "the first sealing is kept");
    assert_eq!(leads[1].channel, "xhs");
    assert_eq!(leads[1].at, at(1));
    assert_eq!(store.leads(ws, "spring", 1).await.expect("leads").len(), 1);

    // Another workspace cannot delete it; the owner can, once.
    assert!(matches!(
        store.delete_lead(other, second).await,
        Err(StoreError::NotFound { .. })
    ));
    let gone = store.delete_lead(ws, second).await.expect("delete");
    assert_eq!(gone.id, second);
    assert!(matches!(
        store.delete_lead(ws, second).await,
        Err(StoreError::NotFound { .. })
    ));
    // Forgetting a phone removes it from every page of this workspace only.
    let forgotten = store.forget_phone(ws, "h1").await.expect("forget");
    assert_eq!(
        forgotten.iter().map(|l| l.id).collect::<Vec<_>>(),
        [first, on_autumn]
    );
    assert!(store
        .leads(ws, "spring", 10)
        .await
        .expect("leads")
        .is_empty());
    assert!(store
        .leads(ws, "autumn", 10)
        .await
        .expect("leads")
        .is_empty());
    assert!(store
        .forget_phone(ws, "h1")
        .await
        .expect("forget")
        .is_empty());
    assert_eq!(
        store.leads(other, "spring", 10).await.expect("leads").len(),
        1
    );
    // Counters stay: they count what visitors did, not what is still kept.
    assert_eq!(
        counts(
            &store
                .landing_counts(ws, Some("spring"))
                .await
                .expect("counts")
        )[1],
        ("spring".to_string(), "xhs".to_string(), 2, 2, 1)
    );
    // After forgetting, the phone may be left again and is a new lead.
    let (back, new) = store
        .record_lead(ws, lead("spring", "xhs", "h1", 9))
        .await
        .expect("lead");
    assert!(new && back != first);
}
