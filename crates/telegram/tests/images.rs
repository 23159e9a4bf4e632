//! A member's poster on the Bot API fake: `SendImage` becomes `sendPhoto` with the poster's URL
//! (Telegram downloads it itself), the caption and a mention of the member; a caption over
//! Telegram's 1,024 characters is refused and dead-lettered with the API's words.

mod support;

use qunzhu_domain::{ActionKind, ActionStatus};
use qunzhu_telegram_fake::FakeTelegram;
use support::{guarded, settled, GROUP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poster_is_sent_as_a_photo_from_its_url() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = guarded(&fake).await;
    fake.join(GROUP, 41);
    bot.step().await;
    let url = "https://ops.example.com/p/p0123456789abcdef.png?m=telegram%3A41";
    bot.enqueue(
        GROUP,
        "poster",
        ActionKind::SendImage {
            url: url.into(),
            caption: "@小王 这是你的专属邀请海报".into(),
            mentions: vec!["41".into()],
        },
    )
    .await;
    bot.enqueue(
        GROUP,
        "too-long",
        ActionKind::SendImage {
            url: url.into(),
            caption: "长".repeat(1025),
            mentions: vec![],
        },
    )
    .await;
    bot.until("both settled", |actions| {
        settled(actions, "poster") && settled(actions, "too-long")
    })
    .await;
    assert_eq!(bot.action("poster").await.status, ActionStatus::Done);
    let refused = bot.action("too-long").await;
    assert_eq!(refused.status, ActionStatus::Dead, "{refused:?}");
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("caption is too long")),
        "{refused:?}"
    );
    let world = fake.world();
    let photos: Vec<_> = world
        .bot_messages(GROUP)
        .into_iter()
        .filter(|message| message.raw.get("photo").is_some())
        .collect();
    assert_eq!(photos.len(), 1);
    let raw = &photos[0].raw;
    assert_eq!(raw["fake_photo_url"], url);
    assert_eq!(raw["caption"], "@小王 这是你的专属邀请海报");
    assert_eq!(raw["caption_entities"][0]["type"], "text_mention");
    assert_eq!(raw["caption_entities"][0]["user"]["id"], 41);
}
