//! No accepted input may stop the engine: arbitrary bytes, arbitrary JSON and mutations of real
//! updates go through `parse_update` and the mapper without a panic.

use proptest::prelude::*;
use qunzhu_domain::WorkspaceId;
use qunzhu_telegram::{parse_update, Mapper, SentPoll};
use serde_json::{json, Value};

fn samples() -> Vec<Value> {
    let user = json!({"id": 7, "is_bot": false, "first_name": "小王"});
    let chat = json!({"id": -100, "type": "supergroup", "title": "g"});
    vec![
        json!({"update_id": 1, "message": {"message_id": 3, "from": user, "chat": chat, "date": 1_800_000_000,
            "text": "看 https://x.example 和 @bob", "entities": [{"type": "url", "offset": 2, "length": 17}, {"type": "mention", "offset": 22, "length": 4}],
            "reply_to_message": {"message_id": 2, "chat": chat, "date": 1}}}),
        json!({"update_id": 2, "edited_message": {"message_id": 3, "from": user, "chat": chat, "date": 1_800_000_000, "text": "x"}}),
        json!({"update_id": 3, "chat_member": {"chat": chat, "from": user, "date": 1_800_000_000,
            "old_chat_member": {"status": "left", "user": user}, "new_chat_member": {"status": "member", "user": user},
            "invite_link": {"invite_link": "https://t.me/+a", "name": "M1", "creates_join_request": false}}}),
        json!({"update_id": 4, "chat_join_request": {"chat": chat, "from": user, "user_chat_id": 7, "date": 1_800_000_000, "bio": "hi"}}),
        json!({"update_id": 5, "message_reaction": {"chat": chat, "message_id": 3, "user": user, "date": 1_800_000_000,
            "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}),
        json!({"update_id": 6, "poll_answer": {"poll_id": "p", "user": user, "option_ids": [0, 5, -1]}}),
        json!({"update_id": 7, "callback_query": {"id": "q", "from": user, "data": "d", "message": {"message_id": 3, "chat": chat, "date": 0}}}),
        json!({"update_id": 8, "message": {"message_id": 4, "from": user, "chat": chat, "date": 1_800_000_000, "dice": {"emoji": "🎲", "value": 99999999999_i64}}}),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("update_id".to_string()),
                    Just("message".to_string()),
                    Just("chat".to_string()),
                    Just("text".to_string()),
                    Just("entities".to_string()),
                    Just("offset".to_string()),
                    Just("length".to_string()),
                    Just("from".to_string()),
                    Just("id".to_string()),
                    ".{0,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a random path of a sample with an arbitrary one.
fn mutate(value: &mut Value, path: &[usize], replacement: Value) {
    let Some((first, rest)) = path.split_first() else {
        *value = replacement;
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(first % map.len())
                .cloned()
                .unwrap_or_default();
            if let Some(child) = map.get_mut(&key) {
                mutate(child, rest, replacement);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let index = first % items.len();
            mutate(&mut items[index], rest, replacement);
        }
        _ => *value = replacement,
    }
}

fn run(bytes: &[u8]) {
    let mapper = Mapper {
        bot_id: 1,
        workspace: WorkspaceId(1),
    };
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let poll = |_: &str| {
        Some((
            -100,
            SentPoll {
                key: "k".into(),
                options: vec!["a".into()],
            },
        ))
    };
    if let Ok(update) = parse_update(bytes) {
        let _ = mapper.map(&update, now, &poll);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        run(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json()) {
        run(value.to_string().as_bytes());
    }

    #[test]
    fn mutated_updates_never_panic(
        sample in 0usize..8,
        path in prop::collection::vec(any::<usize>(), 0..5),
        replacement in arbitrary_json(),
    ) {
        let mut update = samples()[sample].clone();
        mutate(&mut update, &path, replacement);
        run(update.to_string().as_bytes());
    }
}

#[test]
fn every_sample_parses() {
    for sample in samples() {
        assert!(
            parse_update(sample.to_string().as_bytes()).is_ok(),
            "{sample}"
        );
    }
}
