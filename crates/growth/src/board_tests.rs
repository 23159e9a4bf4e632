//! The plays' state machines driven by tables: each step is a message (or a tick) at a time on
//! a fake clock, and the expected outputs are the keys the bot writes and a piece of their text.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{Clock, CouponOffer, FakeClock, Platform};

use super::*;
use crate::play::parse_play;
use crate::play::tests::{BARGAIN, GROUP_BUY};

/// One step: minutes after the previous, who, what (`tick` ticks the clock), mentions.
type Step = (i64, &'static str, &'static str, &'static [&'static str]);

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Runs the steps; returns, per step, each output as `key` or `key ~ text`.
fn run(board: &mut Board, steps: &[Step]) -> Vec<Vec<String>> {
    let clock = FakeClock::new(start());
    let mut shown = Vec::new();
    for (index, (minutes, member, text, mentions)) in steps.iter().enumerate() {
        clock.advance(Duration::minutes(*minutes));
        let mentions: Vec<String> = mentions.iter().map(|m| m.to_string()).collect();
        let key = format!("$e{index}");
        let outs = if *text == "tick" {
            board.tick(clock.now())
        } else {
            board.message(&Said {
                platform: Platform::Matrix,
                chat: "!g:hs",
                member,
                text,
                mentions: &mentions,
                at: clock.now(),
                key: &key,
            })
        };
        shown.push(
            outs.iter()
                .map(|out| match out {
                    Out::Say { key, text, .. } => format!("{key} ~ {text}"),
                    Out::Coupon { key, offer, .. } => format!("{key} = {}", offer.describe()),
                    Out::Points { key, points, .. } => format!("{key} = {points}"),
                    Out::Transfer {
                        key, points, to, ..
                    } => format!("{key} = {points} → {to}"),
                })
                .collect(),
        );
    }
    shown
}

fn check(source: &str, steps: &[Step], expected: &[&[&str]]) -> Board {
    let play = parse_play("p", source).unwrap();
    let mut board = Board::new(play, Vec::new());
    let shown = run(&mut board, steps);
    assert_eq!(shown.len(), expected.len());
    for (index, (got, want)) in shown.iter().zip(expected).enumerate() {
        assert_eq!(got.len(), want.len(), "step {index}: {got:#?}");
        for (got, want) in got.iter().zip(*want) {
            assert!(
                got.starts_with(want) || got.contains(want),
                "step {index}: {got:?} lacks {want:?}"
            );
            if !want.contains(" ~ ") && !want.contains(" = ") {
                let key = got.split(' ').next().unwrap_or("");
                assert_eq!(key, *want, "step {index}");
            }
        }
    }
    board
}

#[test]
fn a_team_of_three_forms_and_everyone_gets_the_price_once() {
    let board = check(
        GROUP_BUY,
        &[
            (0, "@a", "开团", &[]),
            (5, "@b", "参团 1", &[]),
            (1, "@b", "参团1", &[]),
            (1, "@a", "开团", &[]),
            (1, "@c", "参团", &[]),
            (1, "@d", "参团 #1", &[]),
            (1, "@e", "参团 9", &[]),
            (60 * 30, "", "tick", &[]),
        ],
        &[
            &["play:p:1:start ~ @a 开团 #1：咖啡豆 拼团价 ¥59.00（原价 ¥99.00），3 人成团，还差 2 人成团"],
            &["play:p:1:join:@b ~ @b 参团 #1（2/3），还差 1 人成团。"],
            &["play:p:answer:$e2 ~ 你已在 #1 中。"],
            &["play:p:answer:$e3 ~ 你已有进行中的 #1"],
            &[
                "play:p:1:done ~ 🎉 #1 成团！@a、@b、@c 每人获得 ¥40.00 拼团优惠券",
                "play:p:1:coupon:@a = 立减 ¥40.00",
                "play:p:1:coupon:@b = 立减 ¥40.00",
                "play:p:1:coupon:@c = 立减 ¥40.00",
            ],
            &["play:p:answer:$e5 ~ #1 已成团，人满了"],
            &["play:p:answer:$e6 ~ 没有找到进行中的 #9"],
            &[],
        ],
    );
    assert_eq!(board.runs[0].state, RunState::Done);
}

#[test]
fn a_team_short_of_members_fails_on_time_with_the_consolation() {
    check(
        GROUP_BUY,
        &[
            (0, "@a", "开团", &[]),
            (60, "@b", "参团", &[]),
            (60 * 22, "", "tick", &[]),
            (59, "", "tick", &[]),
            (1, "", "tick", &[]),
            (0, "", "tick", &[]),
            (1, "@c", "参团 1", &[]),
            (0, "@a", "开团", &[]),
        ],
        &[
            &["play:p:1:start"],
            &["play:p:1:join:@b"],
            &[],
            &[],
            &[
                "play:p:1:failed ~ #1 未能在 24 小时内成团（2/3）。每位团员获得补偿券：立减 ¥5.00。",
                "play:p:1:consolation:@a = 立减 ¥5.00",
                "play:p:1:consolation:@b = 立减 ¥5.00",
            ],
            &[],
            &["play:p:answer:$e6 ~ #1 已过期未成团"],
            &["play:p:2:start"],
        ],
    );
}

#[test]
fn a_bargain_follows_the_curve_to_the_floor_and_refuses_a_second_cut() {
    let board = check(
        BARGAIN,
        &[
            (0, "@a", "砍价", &[]),
            (1, "@a", "帮砍 1", &[]),
            (1, "@b", "帮砍 1", &[]),
            (1, "@b", "帮砍 1", &[]),
            (1, "@c", "帮砍", &[]),
            (1, "@d", "帮砍 #1", &[]),
            (1, "@e", "帮砍 1", &[]),
            (1, "@f", "帮砍 1", &[]),
            (1, "@b", "帮砍 1", &[]),
        ],
        &[
            &["play:p:1:start ~ @a 发起砍价 #1：保温杯 原价 ¥100.00，最低可砍到 ¥10.00"],
            &["play:p:answer:$e1 ~ #1 是你自己的砍价"],
            &["play:p:1:cut:@b ~ @b 帮 @a 砍掉 ¥48.00，#1 现价 ¥52.00，离底价还差 ¥42.00。"],
            &["play:p:answer:$e3 ~ 你已经帮 #1 砍过一刀（¥48.00），每人只能砍一次。"],
            &["play:p:1:cut:@c ~ @c 帮 @a 砍掉 ¥24.00，#1 现价 ¥28.00"],
            &["play:p:1:cut:@d ~ @d 帮 @a 砍掉 ¥12.00，#1 现价 ¥16.00"],
            &[
                "play:p:1:cut:@e ~ 🎉 @e 砍掉最后 ¥6.00，#1 砍到底价 ¥10.00！@a 获得 ¥90.00 优惠券。",
                "play:p:1:coupon:@a = 立减 ¥90.00",
            ],
            &["play:p:answer:$e7 ~ #1 已砍到底价。"],
            &["play:p:answer:$e8 ~ 你已经帮 #1 砍过一刀"],
        ],
    );
    let run = &board.runs[0];
    assert_eq!(
        (run.state, run.price_cents, run.count()),
        (RunState::Done, 1000, 4)
    );
}

#[test]
fn a_bargain_that_runs_out_of_time_stops_where_it_is() {
    check(
        BARGAIN,
        &[
            (0, "@a", "砍价", &[]),
            (1, "@b", "帮砍", &[]),
            (60 * 24, "@c", "帮砍 1", &[]),
            (0, "", "tick", &[]),
        ],
        &[
            &["play:p:1:start"],
            &["play:p:1:cut:@b"],
            &["play:p:answer:$e2 ~ #1 已过期。"],
            // The cut that found it expired closed it; the tick still says so once.
            &[],
        ],
    );
}

fn assist_doc() -> String {
    GROUP_BUY
        .replace("kind = \"group_buy\"", "kind = \"assist\"")
        .replace("[group_buy]\nitem = \"咖啡豆\"\nteam_size = 3\n", "[assist]\nhelpers = 2\npoints = 50\n")
        .replace("price_cents = 9900\nteam_price_cents = 5900\nconsolation = { type = \"amount_off\", cents = 500 }\n", "")
}

#[test]
fn friends_unlock_an_assist_once() {
    check(
        &assist_doc(),
        &[
            (0, "@a", "助力", &[]),
            (1, "@b", "帮助力", &[]),
            (1, "@b", "帮助力 1", &[]),
            (1, "@c", "帮助力 1", &[]),
            (1, "@d", "帮助力 1", &[]),
        ],
        &[
            &["play:p:1:start ~ @a 发起助力 #1：2 位好友助力即得 50 积分"],
            &["play:p:1:help:@b ~ @b 为 @a 助力 #1，还差 1 位好友。"],
            &["play:p:answer:$e2 ~ 你已经为 #1 助力过了。"],
            &[
                "play:p:1:help:@c ~ 🎉 #1 助力成功！@a 获得 50 积分。",
                "play:p:1:reward:@a = 50",
            ],
            &["play:p:answer:$e4 ~ #1 已助力成功。"],
        ],
    );
}

#[test]
fn a_gift_names_a_friend_and_an_amount_within_the_limit() {
    let doc = GROUP_BUY
        .replace("kind = \"group_buy\"", "kind = \"gift\"")
        .split("[group_buy]")
        .next()
        .unwrap()
        .to_string()
        + "[gift]\nmax_points = 100\n";
    check(
        &doc,
        &[
            (0, "@a", "送积分 20 @b2", &["@b2"]),
            (0, "@a", "送积分 @b2", &["@b2"]),
            (0, "@a", "送积分 20", &[]),
            (0, "@a", "送积分 500 @b2", &["@b2"]),
            (0, "@a", "送积分 5 @a", &["@a"]),
            (0, "@a", "送积分里", &[]),
        ],
        &[
            &["play:p:gift:$e0 = 20 → @b2"],
            &["play:p:answer:$e1 ~ 请写明积分数"],
            &["play:p:answer:$e2 ~ 请 @ 要送的好友"],
            &["play:p:answer:$e3 ~ 每次最多送 100 积分。"],
            &["play:p:answer:$e4 ~ 不能送给自己。"],
            &[],
        ],
    );
}

#[test]
fn commands_outside_the_play_window_or_its_groups_are_answered_or_ignored() {
    let play = parse_play("p", &GROUP_BUY.replace("2026-12-01", "2026-12-06")).unwrap();
    let mut board = Board::new(play, Vec::new());
    let said = |chat, text| Said {
        platform: Platform::Matrix,
        chat,
        member: "@a",
        text,
        mentions: &[],
        at: start(),
        key: "$x",
    };
    let outs = board.message(&said("!g:hs", "开团"));
    assert!(matches!(&outs[..], [Out::Say { text, .. }] if text.contains("活动还没开始")));
    assert!(board.message(&said("!other:hs", "开团")).is_empty());
    assert!(
        board.message(&said("!g:hs", "开团啦大家")).is_empty(),
        "not the command"
    );
    assert!(board.take_changes().is_empty());
}

#[test]
fn a_board_rebuilt_from_stored_runs_goes_on_where_it_was() {
    let play = parse_play("p", GROUP_BUY).unwrap();
    let mut board = Board::new(play.clone(), Vec::new());
    let said = |member, text, key| Said {
        platform: Platform::Matrix,
        chat: "!g:hs",
        member,
        text,
        mentions: &[],
        at: start(),
        key,
    };
    board.message(&said("@a", "开团", "$1"));
    board.message(&said("@b", "参团", "$2"));
    let stored = board.take_changes();
    assert_eq!(stored.len(), 1);
    let mut again = Board::new(play, stored);
    let outs = again.message(&said("@c", "参团", "$3"));
    assert_eq!(outs[0].key(), "play:p:1:done");
    assert!(matches!(
        &outs[1],
        Out::Coupon {
            offer: CouponOffer::AmountOff { cents: 4000 },
            ..
        }
    ));
}
