//! Attribution and review on the Bot API fake: members' invite links named with their code,
//! campaign links with join requests decided by the review rules through the engine.

mod support;

use qunzhu_connector::Connector;
use qunzhu_domain::{ActionKind, ActionStatus, EventKind, JoinVia};
use qunzhu_telegram_fake::{FakeTelegram, Request, Status};
use support::{guarded, settled, Bot, GROUP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_through_a_members_link_are_attributed_to_their_code() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    let chat = GROUP.to_string();
    let link = bot
        .connector
        .member_link(&chat, "M42-小王")
        .await
        .expect("link");
    assert_eq!(
        bot.connector
            .member_link(&chat, "M42-小王")
            .await
            .expect("again"),
        link
    );
    {
        let world = fake.world();
        let links = &world.chat(GROUP).links;
        assert_eq!(links.len(), 1, "created once, on demand");
        assert_eq!(links[0].name.as_deref(), Some("M42-小王"));
    }
    assert!(fake.join_by_link(GROUP, 7, &link, None));
    fake.join(GROUP, 8);
    for _ in 0..3 {
        bot.step().await;
    }
    let joins: Vec<(String, JoinVia)> = bot
        .events()
        .await
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::MemberJoined { member, via, .. } => Some((member.0, via)),
            _ => None,
        })
        .collect();
    assert_eq!(
        joins,
        vec![
            (
                "7".into(),
                JoinVia::Link {
                    code: "M42-小王".into()
                }
            ),
            ("8".into(), JoinVia::Direct)
        ]
    );
    // The link survives a restart of the connector: the journal remembers it.
    let again = support::connector(&fake, bot.dir.path(), bot.workspace).await;
    assert_eq!(
        again.member_link(&chat, "M42-小王").await.expect("link"),
        link
    );
    assert_eq!(fake.world().chat(GROUP).links.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_requests_are_approved_or_declined_by_the_review_rules() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = guarded(&fake).await;
    bot.enqueue(
        GROUP,
        "campaign-link",
        ActionKind::CreateInviteLink {
            name: "双11-海报".into(),
            member_limit: Some(500),
            expire_at: None,
            join_request: true,
        },
    )
    .await;
    bot.until("the link exists", |actions| {
        settled(actions, "campaign-link")
    })
    .await;
    let link = bot
        .action("campaign-link")
        .await
        .receipt
        .expect("the link is the receipt");
    assert!(fake.join_by_link(GROUP, 21, &link, Some("我是做咖啡的，想来学习")));
    assert!(fake.join_by_link(GROUP, 22, &link, Some("兼职刷单日结")));
    bot.until("both requests decided", |actions| {
        actions
            .iter()
            .filter(|a| {
                matches!(a.kind, ActionKind::DecideJoinRequest { .. })
                    && a.status == ActionStatus::Done
            })
            .count()
            == 2
    })
    .await;
    {
        let world = fake.world();
        let requests = &world.chat(GROUP).requests;
        assert_eq!(requests[&21].state, Request::Approved);
        assert_eq!(requests[&22].state, Request::Declined);
        assert_eq!(world.status(GROUP, 21), Status::Member);
        assert_eq!(world.status(GROUP, 22), Status::Left);
    }
    bot.step().await;
    let joined = bot
        .events()
        .await
        .into_iter()
        .find_map(|event| match event.kind {
            EventKind::MemberJoined { member, via, .. } if member == "21" => Some(via),
            _ => None,
        });
    assert_eq!(
        joined,
        Some(JoinVia::Link {
            code: "双11-海报".into()
        }),
        "approved joins keep their link"
    );
}
