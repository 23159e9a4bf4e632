//! Conformance: member tags from poll answers — an answer adds its tags, a changed answer swaps
//! them, a retraction takes back only what that poll gave, operators' tags stay, the watermark
//! moves with the answers.

use qunzhu_domain::PollAnswer;

use super::*;

fn answer(poll: &str, member: &str, tags: &[&str], minute: i64) -> PollAnswer {
    PollAnswer {
        platform: Platform::Sandbox,
        poll: poll.into(),
        member: member.into(),
        tags: tags.iter().map(|tag| tag.to_string()).collect(),
        at: at(minute),
    }
}

async fn tags(store: &dyn Store, ws: WorkspaceId, member: &str) -> Vec<String> {
    store
        .member(ws, Platform::Sandbox, &member.into())
        .await
        .expect("member")
        .tags
}

pub async fn poll_answers_tag_members_and_retractions_untag_them(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    assert_eq!(store.poll_tag_watermark(ws).await.expect("watermark"), 0);
    // An unknown member is added with the tag; a known one keeps the operator's own tags.
    store
        .apply_poll_answers(ws, vec![answer("city", "@b", &["city:北京"], 1)], 3)
        .await
        .expect("apply");
    assert_eq!(tags(store, ws, "@b").await, ["city:北京"]);
    let update = MemberUpdate {
        tags: Some(vec!["vip".into()]),
        ..MemberUpdate::default()
    };
    store
        .update_member(ws, Platform::Sandbox, &"@b".into(), update)
        .await
        .expect("operator tag");
    store
        .apply_poll_answers(
            ws,
            vec![
                answer("city", "@a", &["city:上海"], 2),
                answer("hobby", "@a", &["hobby:咖啡", "city:上海"], 3),
                answer("city", "@b", &["city:广州"], 4),
            ],
            9,
        )
        .await
        .expect("apply");
    assert_eq!(tags(store, ws, "@a").await, ["city:上海", "hobby:咖啡"]);
    assert_eq!(tags(store, ws, "@b").await, ["vip", "city:广州"]);
    assert_eq!(store.poll_tag_watermark(ws).await.expect("watermark"), 9);
    // Retracting the city answer keeps city:上海, which the hobby poll still gives; retracting
    // the hobby poll then takes both back.
    store
        .apply_poll_answers(
            ws,
            vec![answer("city", "@a", &[], 5), answer("city", "@b", &[], 5)],
            12,
        )
        .await
        .expect("retract");
    assert_eq!(tags(store, ws, "@a").await, ["city:上海", "hobby:咖啡"]);
    assert_eq!(tags(store, ws, "@b").await, ["vip"]);
    store
        .apply_poll_answers(ws, vec![answer("hobby", "@a", &[], 6)], 13)
        .await
        .expect("retract");
    assert!(tags(store, ws, "@a").await.is_empty());
    // Workspaces never share answers or watermarks.
    assert_eq!(store.poll_tag_watermark(other).await.expect("watermark"), 0);
    assert!(store
        .member(other, Platform::Sandbox, &"@a".into())
        .await
        .is_err());
}
