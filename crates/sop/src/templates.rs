//! Shipped SOP templates from the articles, each applicable to chosen groups in one step.
//!
//! Daily 早报·话题·打卡 (000, 004), the education week and the restaurant day (002), the 3-day
//! flash group 快闪群 (001), a 7-day onboarding for new groups, and golden-hour posts (000).
//! The texts are written to be sent as they are; operators edit the plan afterwards.

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use qunzhu_domain::GroupType;

use crate::plan::{ActiveWindow, Anchor, Content, Plan, Step, Target, TimeRule, DEFAULT_GRACE};

/// A ready-made plan.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub id: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub description: &'static str,
    /// The group type it was written for, as a hint for the console.
    pub group_type: Option<GroupType>,
    steps: fn() -> Vec<StepSpec>,
}

/// A template step before it has a target and a zone.
struct StepSpec {
    id: &'static str,
    title: &'static str,
    rule: TimeRule,
    text: &'static str,
}

impl Template {
    /// The plan for `target` in `timezone`; its id is the template's id.
    pub fn instantiate(&self, target: Target, timezone: Tz) -> Plan {
        let steps = (self.steps)()
            .into_iter()
            .map(|spec| Step {
                id: spec.id.to_string(),
                title: spec.title.to_string(),
                rule: spec.rule,
                timezone,
                window: ActiveWindow::default(),
                blackout: Default::default(),
                target: target.clone(),
                content: Content {
                    text: spec.text.to_string(),
                    attachment: None,
                    moments: None,
                    activity: None,
                },
                grace: DEFAULT_GRACE,
            })
            .collect();
        Plan {
            id: self.id.to_string(),
            name: self.name_zh.to_string(),
            timezone,
            links: Default::default(),
            anchors: Default::default(),
            steps,
        }
    }

    /// The plan as an editable TOML document, ready to save: applying a template in one step.
    pub fn to_toml(&self, target: Target, timezone: Tz) -> String {
        crate::export::plan_to_toml(&self.instantiate(target, timezone))
    }
}

/// Every shipped template.
pub fn templates() -> Vec<Template> {
    vec![
        Template {
            id: "daily-morning",
            name_zh: "每日早报·话题·打卡",
            name_en: "Daily morning report, topic and check-in",
            description: "07:30 早报带打卡，12:30 当日话题，21:00 打卡提醒与排行榜。适合打卡群、内容群。",
            group_type: Some(GroupType::CheckIn),
            steps: daily_morning,
        },
        Template {
            id: "education-weekly",
            name_zh: "教培周课程节奏",
            name_en: "Education weekly course cadence",
            description: "周二晚直播课：周一晚预告海报，周二课前倒计时，周三回放与思维导图，周四作业点评。",
            group_type: Some(GroupType::Content),
            steps: education_weekly,
        },
        Template {
            id: "restaurant-daily",
            name_zh: "餐饮门店日常",
            name_en: "Restaurant daily",
            description: "每天 11:00 今日菜单，12:00 出锅小视频，18:00 明日限量秒杀预告。",
            group_type: Some(GroupType::Traffic),
            steps: restaurant_daily,
        },
        Template {
            id: "flash-sale-3day",
            name_zh: "快闪群3天成交",
            name_en: "3-day flash group sale",
            description: "按建群时间：第0天暖场与群规，第1天种草与开抢，第2天晒单与最后召集，第3天收尾解散预告。",
            group_type: Some(GroupType::Flash),
            steps: flash_sale,
        },
        Template {
            id: "onboarding-7day",
            name_zh: "新群7天激活",
            name_en: "7-day new-group onboarding",
            description: "按建群时间第1–7天：群规与自我介绍、品牌故事、新人福利、答疑、用户故事、小游戏、满意度调研。",
            group_type: None,
            steps: onboarding,
        },
        Template {
            id: "golden-hours",
            name_zh: "黄金时段三连发",
            name_en: "Golden-hour presets",
            description: "早 07:30（6–9点）、午后 17:00（16–18点小高峰）、晚 20:30（19–22点）各发一条。",
            group_type: None,
            steps: golden_hours,
        },
    ]
}

/// Looks a template up by id.
pub fn template(id: &str) -> Option<Template> {
    templates().into_iter().find(|template| template.id == id)
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    // Only called with literal times below; the fallback is never taken (the tests check times).
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

fn daily(
    id: &'static str,
    title: &'static str,
    hour: u32,
    minute: u32,
    text: &'static str,
) -> StepSpec {
    StepSpec {
        id,
        title,
        rule: TimeRule::Daily {
            at: hm(hour, minute),
        },
        text,
    }
}

fn weekly(
    id: &'static str,
    title: &'static str,
    day: Weekday,
    hour: u32,
    minute: u32,
    text: &'static str,
) -> StepSpec {
    StepSpec {
        id,
        title,
        rule: TimeRule::Weekly {
            weekdays: vec![day],
            at: hm(hour, minute),
        },
        text,
    }
}

fn after_creation(
    id: &'static str,
    title: &'static str,
    days: i32,
    hour: u32,
    minute: u32,
    text: &'static str,
) -> StepSpec {
    StepSpec {
        id,
        title,
        rule: TimeRule::Relative {
            anchor: Anchor::GroupCreated,
            offset_days: days,
            at: hm(hour, minute),
        },
        text,
    }
}

fn daily_morning() -> Vec<StepSpec> {
    vec![
        daily("morning-report", "早报", 7, 30,
            "☀️ 早安，{group}的家人们！今天是{date_zh} {weekday}。\n\n【今日早报】一日之计在于晨，先给自己定一个今天能完成的小目标吧。\n\n✅ 回复「打卡」+ 今日小目标，完成签到；连续打卡7天额外奖励积分哦～"),
        daily("daily-topic", "今日话题", 12, 30,
            "💬 今日话题：结合早报，聊聊你最近遇到的一个小难题？\n说出来，群里{member_count}位伙伴一起帮你出主意～ 群主会挑3条精彩回答送积分哒！"),
        daily("checkin-reminder", "打卡提醒", 21, 0,
            "🌙 今天的打卡还没完成的伙伴抓紧啦，回复「打卡」就算数哦。\n\n📊 今日打卡榜：\n{checkin_leaders}"),
    ]
}

fn education_weekly() -> Vec<StepSpec> {
    vec![
        weekly("course-poster", "课程预告海报", Weekday::Mon, 20, 0,
            "📣 明晚（周二）20:00 直播课预告！\n本周主题见海报，课前把想问的问题发在群里，老师会在课上集中解答～\n⏰ 记得设好提醒，准时上课哦"),
        weekly("course-countdown", "上课倒计时", Weekday::Tue, 19, 30,
            "⏰ 上课倒计时30分钟！今晚20:00直播准时开始。\n提前进入直播间，准备好笔记本，开课后前10分钟有小福利哦～"),
        weekly("replay-mindmap", "回放与思维导图", Weekday::Wed, 20, 0,
            "📺 昨晚的课程回放来啦！没赶上的同学抓紧补课～\n🧠 本节思维导图已整理好，保存下来对照复习效果更好。\n有不懂的地方直接在群里@老师提问。"),
        weekly("homework-review", "作业批改点评", Weekday::Thu, 20, 0,
            "✍️ 本周作业点评时间！老师已批改完交上来的作业，今晚逐一点评优秀作业和常见问题。\n还没交的同学今晚22:00前补交，仍可获得点评哦。"),
    ]
}

fn restaurant_daily() -> Vec<StepSpec> {
    vec![
        daily("menu", "今日菜单", 11, 0,
            "🍱 {date_zh}{weekday}·今日菜单来啦！\n招牌菜、今日例汤、时令小炒都已备好，午市11:30开餐。\n想吃的直接在群里接龙预订，到店报群名优先出餐～"),
        daily("dish-video", "出锅小视频", 12, 0,
            "🔥 刚出锅！后厨现炒，热气腾腾的招牌菜看这里～\n还没点餐的伙伴，现在下单12:30前送达/可取。"),
        daily("tomorrow-deal", "明日限量秒杀", 18, 0,
            "⚡ 明日限量秒杀预告：招牌套餐限量30份，群内专享价！\n明天上午10:00准时开抢，先到先得，抢完即止～"),
    ]
}

fn flash_sale() -> Vec<StepSpec> {
    vec![
        after_creation("day0-welcome", "暖场与群规", 0, 20, 30,
            "🎉 欢迎来到{group}！这是一个只开3天的快闪福利群。\n📌 群规：①只聊本次活动 ②不发广告链接 ③有问题@客服\n明天上午10点揭晓本次福利商品，记得把群置顶哦～"),
        after_creation("day1-product", "商品种草", 1, 10, 0,
            "🛍 本次快闪福利揭晓！全网最低的群专享价，仅限本群3天。\n产品亮点、真实用户反馈都整理好了，有疑问随时@客服。\n今晚20:00准时开抢！"),
        after_creation("day1-open", "开抢", 1, 20, 0,
            "🚀 开抢啦！群专享价限量供应，下单方式见群公告。\n下单后在群里晒单，额外送小礼物一份🎁"),
        after_creation("day2-proof", "晒单返场", 2, 12, 0,
            "📸 昨晚已经有很多伙伴下单晒单啦，感谢支持！\n没抢到的别急，今天还有最后一批库存，20:00截止～"),
        after_creation("day2-last-call", "最后召集", 2, 20, 0,
            "⏳ 最后2小时！快闪价今晚22:00结束，之后恢复原价。\n还在犹豫的伙伴抓紧啦，有问题马上@客服。"),
        after_creation("day3-close", "收尾与解散预告", 3, 10, 0,
            "🙏 本次快闪活动圆满结束，感谢{member_count}位伙伴的参与！\n售后问题请加客服微信。本群将于今晚解散，想获取下次福利的伙伴可以加入我们的会员群～"),
    ]
}

fn onboarding() -> Vec<StepSpec> {
    vec![
        after_creation("day1-rules", "群规与自我介绍", 1, 10, 0,
            "👋 欢迎大家加入{group}！先看群规：\n【改名片】城市+昵称\n【群服务】干货分享、专属福利、答疑\n【有问题】@群主或客服\n【不可以】发广告、人身攻击\n【你可以】分享经验、提建议\n请按「姓名+职业+城市+最想解决的问题」做个自我介绍吧～"),
        after_creation("day2-story", "品牌故事", 2, 20, 0,
            "📖 今晚聊聊我们为什么做这件事：从第一位用户的需求出发，一直坚持到现在。\n你是怎么认识我们的？在群里说说你的故事吧～"),
        after_creation("day3-gift", "新人福利", 3, 12, 0,
            "🎁 新人专属福利到！入群一周内可领一张专属优惠券（仅限本人使用，不可转赠）。\n领取方式：私聊客服回复「新人福利」。"),
        after_creation("day4-qa", "答疑时间", 4, 20, 0,
            "❓ 今晚20:00-21:00是集中答疑时间，关于产品和使用的任何问题都可以提出来，客服和老师在线解答～"),
        after_creation("day5-stories", "用户故事", 5, 20, 0,
            "🌟 分享几位老用户的真实反馈，看看大家用下来的变化。\n你也有想分享的体验吗？精彩分享送积分哦！"),
        after_creation("day6-game", "互动小游戏", 6, 20, 30,
            "🎲 周末小游戏：今晚答题闯关，答对3题即可获得积分奖励，前3名额外有惊喜！\n准备好了回复「参加」～"),
        after_creation("day7-survey", "满意度调研", 7, 10, 0,
            "📝 入群一周啦！花1分钟告诉我们你的感受：最喜欢群里的什么内容？还希望看到什么？\n你的建议会直接影响接下来的安排，参与调研送积分～"),
    ]
}

fn golden_hours() -> Vec<StepSpec> {
    vec![
        daily("morning-share", "早间分享", 7, 30,
            "☀️ 早安！{date_zh}{weekday}，给大家带来今天的一条实用小知识，通勤路上花1分钟看完～\n有收获的伙伴回复「收到」，让群主知道你在哦！"),
        daily("afternoon-peak", "午后小高峰", 17, 0,
            "☕ 下午好！工作间隙来群里歇一歇～ 今天有什么开心或烦恼的事？\n分享出来，大家一起聊聊。"),
        daily("evening-prime", "晚间黄金档", 20, 30,
            "🌙 晚上好！今晚群内专属福利已上线，仅限群成员，明天中午12点截止。\n有任何问题随时@客服，我们一直都在～"),
    ]
}

#[cfg(test)]
mod tests;
