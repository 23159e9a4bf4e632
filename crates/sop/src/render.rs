//! Template text: `{variables}` in step content, checked when a plan is saved and filled per group.
//!
//! Filling happens in two steps. When a post is planned (48 hours ahead), what is fixed by then
//! is filled: its date, time and links ([`CompiledText::plan_template`]). The live facts —
//! `{group}`, `{member_count}`, `{checkin_leaders}` — are filled by [`render_live`] when the post
//! is sent, and the preview calls the same function with today's facts, so the preview says
//! what the post will say.
//!
//! Checking at save time is the point: an unknown `{grup}` is an error the operator sees in the
//! editor, not a blank in five hundred groups at 08:00. `{{` and `}}` write literal braces.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime};

use crate::plan::weekday_zh;

/// Variable names a step's text may use, besides `{link:NAME}`.
pub const VARIABLES: &[&str] = &[
    "group",
    "date",
    "date_zh",
    "time",
    "weekday",
    "member_count",
    "checkin_leaders",
    "invite_leaders",
    "points_leaders",
];

/// One variable a text refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variable {
    /// The group's name.
    Group,
    /// `2026-03-02`.
    Date,
    /// `3月2日`.
    DateZh,
    /// `07:30`.
    Time,
    /// 周一…周日.
    Weekday,
    MemberCount,
    /// Today's check-in leaders, one per line.
    CheckinLeaders,
    /// The group's invite leaderboard (present invitees per inviter), one per line.
    InviteLeaders,
    /// The workspace's points leaderboard, one per line.
    PointsLeaders,
    /// A named link of the plan.
    Link(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Variable(Variable),
}

/// A text split into literals and variables once, then rendered for many groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledText {
    pieces: Vec<Piece>,
}

/// A problem in a template text, at a byte offset into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    pub offset: usize,
    pub message: String,
}

/// What a text is rendered with: one group on one firing.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    pub group_name: &'a str,
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub member_count: u32,
    pub checkin_leaders: &'a [String],
    pub invite_leaders: &'a [String],
    pub points_leaders: &'a [String],
    pub links: &'a BTreeMap<String, String>,
}

/// The facts only known when a post goes out.
#[derive(Debug, Clone, Copy)]
pub struct LiveFacts<'a> {
    pub group_name: &'a str,
    pub member_count: u32,
    pub checkin_leaders: &'a [String],
    pub invite_leaders: &'a [String],
    pub points_leaders: &'a [String],
}

/// Fills a planned template's live variables (see [`CompiledText::plan_template`]); anything
/// else in braces stays as written, visible rather than blank.
pub fn render_live(template: &str, live: &LiveFacts<'_>) -> String {
    let compiled = CompiledText::compile_lenient(template);
    let mut out = String::with_capacity(template.len() + 64);
    for piece in &compiled.pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Variable(variable) => match variable {
                Variable::Group => out.push_str(live.group_name),
                Variable::MemberCount => out.push_str(&live.member_count.to_string()),
                Variable::CheckinLeaders => leaders(live.checkin_leaders, &mut out),
                Variable::InviteLeaders => board(live.invite_leaders, &mut out),
                Variable::PointsLeaders => board(live.points_leaders, &mut out),
                other => {
                    out.push('{');
                    out.push_str(&variable_name(other));
                    out.push('}');
                }
            },
        }
    }
    out
}

/// Whether a text has live variables left to fill at send time.
pub fn has_live_variables(template: &str) -> bool {
    CompiledText::compile_lenient(template)
        .variables()
        .any(|variable| {
            matches!(
                variable,
                Variable::Group
                    | Variable::MemberCount
                    | Variable::CheckinLeaders
                    | Variable::InviteLeaders
                    | Variable::PointsLeaders
            )
        })
}

fn variable_name(variable: &Variable) -> String {
    match variable {
        Variable::Group => "group".into(),
        Variable::Date => "date".into(),
        Variable::DateZh => "date_zh".into(),
        Variable::Time => "time".into(),
        Variable::Weekday => "weekday".into(),
        Variable::MemberCount => "member_count".into(),
        Variable::CheckinLeaders => "checkin_leaders".into(),
        Variable::InviteLeaders => "invite_leaders".into(),
        Variable::PointsLeaders => "points_leaders".into(),
        Variable::Link(name) => format!("link:{name}"),
    }
}

/// A leaderboard's lines, or a nudge when nobody is on it yet.
fn board(lines: &[String], out: &mut String) {
    if lines.is_empty() {
        out.push_str("暂无上榜，快来争第一！");
    } else {
        out.push_str(&lines.join("\n"));
    }
}

fn leaders(lines: &[String], out: &mut String) {
    if lines.is_empty() {
        out.push_str("暂无，快来抢第一个打卡！");
    } else {
        out.push_str(&lines.join("\n"));
    }
}

/// Writes literal text so that a later lenient compile reads it back unchanged.
fn push_escaped(text: &str, out: &mut String) {
    for character in text.chars() {
        match character {
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            other => out.push(other),
        }
    }
}

impl CompiledText {
    /// The text with what is fixed at planning time filled (date, time, weekday, links) and the
    /// live variables kept as `{group}`, `{member_count}`, `{checkin_leaders}`; literal braces
    /// are written doubled, so [`render_live`] later gives exactly what [`Self::render`] gives.
    pub fn plan_template(&self, context: &RenderContext<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => push_escaped(text, &mut out),
                Piece::Variable(
                    variable @ (Variable::Group
                    | Variable::MemberCount
                    | Variable::CheckinLeaders
                    | Variable::InviteLeaders
                    | Variable::PointsLeaders),
                ) => {
                    out.push('{');
                    out.push_str(&variable_name(variable));
                    out.push('}');
                }
                Piece::Variable(variable) => {
                    let mut filled = String::new();
                    render_variable(variable, context, &mut filled);
                    push_escaped(&filled, &mut out);
                }
            }
        }
        out
    }

    /// Strict: every variable must be known and every `{link:NAME}` declared in `links`.
    pub fn compile(
        text: &str,
        links: &BTreeMap<String, String>,
    ) -> Result<CompiledText, Vec<TextError>> {
        let mut errors = Vec::new();
        let compiled = scan(text, |name, offset| match parse_variable(name) {
            Some(Variable::Link(link)) if !links.contains_key(&link) => {
                let declared: Vec<&str> = links.keys().map(String::as_str).collect();
                let declared = if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                };
                errors.push(TextError {
                    offset,
                    message: format!(
                        "unknown link `{link}` in {{{name}}}; declared links: {declared}"
                    ),
                });
                None
            }
            Some(variable) => Some(variable),
            None => {
                errors.push(TextError {
                    offset,
                    message: format!(
                        "unknown variable {{{name}}}; known: {}, link:NAME",
                        VARIABLES
                            .iter()
                            .map(|known| format!("{{{known}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                None
            }
        });
        match compiled {
            Err(unclosed) => {
                errors.push(unclosed);
                Err(errors)
            }
            Ok(compiled) if errors.is_empty() => Ok(compiled),
            Ok(_) => Err(errors),
        }
    }

    /// Lenient, for plans built in code: an unknown variable stays as written, visible, not blank.
    pub fn compile_lenient(text: &str) -> CompiledText {
        scan(text, |name, _| parse_variable(name)).unwrap_or_else(|_| CompiledText {
            pieces: vec![Piece::Literal(text.to_string())],
        })
    }

    /// The variables used, in order.
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Variable(variable) => Some(variable),
            Piece::Literal(_) => None,
        })
    }

    pub fn render(&self, context: &RenderContext<'_>) -> String {
        let mut out = String::with_capacity(self.pieces.iter().map(piece_len).sum::<usize>() + 16);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Variable(variable) => render_variable(variable, context, &mut out),
            }
        }
        out
    }
}

fn piece_len(piece: &Piece) -> usize {
    match piece {
        Piece::Literal(text) => text.len(),
        Piece::Variable(_) => 8,
    }
}

fn render_variable(variable: &Variable, context: &RenderContext<'_>, out: &mut String) {
    use std::fmt::Write;
    // Writing into a String cannot fail; the results are ignored for that reason.
    match variable {
        Variable::Group => out.push_str(context.group_name),
        Variable::Date => {
            let _ = write!(out, "{}", context.date.format("%Y-%m-%d"));
        }
        Variable::DateZh => {
            let _ = write!(out, "{}月{}日", context.date.month(), context.date.day());
        }
        Variable::Time => {
            let _ = write!(out, "{}", context.time.format("%H:%M"));
        }
        Variable::Weekday => out.push_str(weekday_zh(context.date.weekday())),
        Variable::MemberCount => {
            let _ = write!(out, "{}", context.member_count);
        }
        Variable::CheckinLeaders => leaders(context.checkin_leaders, out),
        Variable::InviteLeaders => board(context.invite_leaders, out),
        Variable::PointsLeaders => board(context.points_leaders, out),
        Variable::Link(name) => out.push_str(
            context
                .links
                .get(name)
                .map(String::as_str)
                .unwrap_or_default(),
        ),
    }
}

fn parse_variable(name: &str) -> Option<Variable> {
    Some(match name {
        "group" => Variable::Group,
        "date" => Variable::Date,
        "date_zh" => Variable::DateZh,
        "time" => Variable::Time,
        "weekday" => Variable::Weekday,
        "member_count" => Variable::MemberCount,
        "checkin_leaders" => Variable::CheckinLeaders,
        "invite_leaders" => Variable::InviteLeaders,
        "points_leaders" => Variable::PointsLeaders,
        _ => {
            let link = name.strip_prefix("link:")?;
            if link.is_empty() {
                return None;
            }
            Variable::Link(link.to_string())
        }
    })
}

/// Splits `text`; `resolve` turns a variable name at a byte offset into a variable or rejects it.
fn scan(
    text: &str,
    mut resolve: impl FnMut(&str, usize) -> Option<Variable>,
) -> Result<CompiledText, TextError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(index) = rest.find(['{', '}']) {
        literal.push_str(&rest[..index]);
        let tail = &rest[index..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            literal.push_str(&tail[..1]);
            rest = &tail[2..];
            offset += index + 2;
            continue;
        }
        if let Some(after) = tail.strip_prefix('}') {
            literal.push('}');
            rest = after;
            offset += index + 1;
            continue;
        }
        let close = tail
            .find('}')
            .filter(|close| !tail[1..*close].contains(['{', '\n']));
        let Some(close) = close else {
            return Err(TextError {
                offset: offset + index,
                message: "unclosed `{`: write `{{` for a literal brace".to_string(),
            });
        };
        let name = tail[1..close].trim();
        match resolve(name, offset + index) {
            Some(variable) => {
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Variable(variable));
            }
            None => literal.push_str(&tail[..=close]),
        }
        rest = &tail[close + 1..];
        offset += index + close + 1;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(CompiledText { pieces })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> BTreeMap<String, String> {
        BTreeMap::from([("shop".to_string(), "https://shop.example.com/s".to_string())])
    }

    #[test]
    fn renders_every_variable() {
        let text = "【{group}】{date} {date_zh} {weekday} {time} 共{member_count}人 {{原样}} 购买：{link:shop}\n{checkin_leaders}";
        let compiled = CompiledText::compile(text, &links()).unwrap();
        let leaders = vec!["1. 小王 连续7天".to_string(), "2. 小李 连续3天".to_string()];
        let links = links();
        let context = RenderContext {
            group_name: "宝妈交流1群",
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            time: NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
            member_count: 186,
            checkin_leaders: &leaders,
            invite_leaders: &[],
            points_leaders: &[],
            links: &links,
        };
        assert_eq!(
            compiled.render(&context),
            "【宝妈交流1群】2026-03-02 3月2日 周一 07:30 共186人 {原样} 购买：https://shop.example.com/s\n1. 小王 连续7天\n2. 小李 连续3天"
        );
    }

    #[test]
    fn leaderboards_stay_open_at_planning_and_are_filled_at_send_time() {
        let text = "📊 邀请榜\n{invite_leaders}\n💰 积分榜\n{points_leaders}";
        let compiled = CompiledText::compile(text, &BTreeMap::new()).unwrap();
        let none = BTreeMap::new();
        let planning = RenderContext {
            group_name: "g",
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            time: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            member_count: 0,
            checkin_leaders: &[],
            invite_leaders: &[],
            points_leaders: &[],
            links: &none,
        };
        let template = compiled.plan_template(&planning);
        assert_eq!(template, text, "nothing of a board is fixed 48 hours ahead");
        assert!(has_live_variables(&template));
        let invites = vec!["🥇 A 2人".to_string(), "🥈 B 1人".to_string()];
        let live = LiveFacts {
            group_name: "g",
            member_count: 3,
            checkin_leaders: &[],
            invite_leaders: &invites,
            points_leaders: &[],
        };
        assert_eq!(
            render_live(&template, &live),
            "📊 邀请榜\n🥇 A 2人\n🥈 B 1人\n💰 积分榜\n暂无上榜，快来争第一！"
        );
    }

    #[test]
    fn a_planned_template_filled_live_is_the_full_rendering() {
        let text = "【{group}】{date_zh} {weekday} {time} 共{member_count}人 {{原样}} 购买：{link:shop}\n{checkin_leaders}";
        let compiled = CompiledText::compile(text, &links()).unwrap();
        let links = links();
        let planned_leaders: Vec<String> = Vec::new();
        let planning = RenderContext {
            group_name: "旧名",
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            time: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            member_count: 0,
            checkin_leaders: &planned_leaders,
            invite_leaders: &[],
            points_leaders: &[],
            links: &links,
        };
        let template = compiled.plan_template(&planning);
        assert_eq!(
            template,
            "【{group}】3月2日 周一 21:00 共{member_count}人 {{原样}} 购买：https://shop.example.com/s\n{checkin_leaders}"
        );
        assert!(has_live_variables(&template));
        let leaders = vec!["1. 小王 连续7天".to_string()];
        let live = LiveFacts {
            group_name: "宝妈交流1群",
            member_count: 973,
            checkin_leaders: &leaders,
            invite_leaders: &[],
            points_leaders: &[],
        };
        let sending = RenderContext {
            group_name: live.group_name,
            member_count: live.member_count,
            checkin_leaders: &leaders,
            invite_leaders: &[],
            points_leaders: &[],
            ..planning
        };
        assert_eq!(render_live(&template, &live), compiled.render(&sending));
        assert!(!has_live_variables(&render_live(&template, &live)));
        assert_eq!(
            render_live("only {{braces}} and {who}", &live),
            "only {braces} and {who}"
        );
    }

    #[test]
    fn rejects_unknown_variables_links_and_unclosed_braces_with_offsets() {
        let errors = CompiledText::compile("早安{grup}，点{link:shop2}", &links()).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].offset, "早安".len());
        assert!(
            errors[0]
                .message
                .starts_with("unknown variable {grup}; known: {group}, {date}"),
            "{}",
            errors[0].message
        );
        assert_eq!(
            errors[1].message,
            "unknown link `shop2` in {link:shop2}; declared links: shop"
        );
        let errors = CompiledText::compile("今天{group", &links()).unwrap_err();
        assert_eq!(
            errors,
            vec![TextError {
                offset: "今天".len(),
                message: "unclosed `{`: write `{{` for a literal brace".into()
            }]
        );
    }

    #[test]
    fn lenient_compile_keeps_unknown_variables_visible() {
        let compiled = CompiledText::compile_lenient("hi {who} }");
        let links = BTreeMap::new();
        let context = RenderContext {
            group_name: "g",
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            time: NaiveTime::MIN,
            member_count: 0,
            checkin_leaders: &[],
            invite_leaders: &[],
            points_leaders: &[],
            links: &links,
        };
        assert_eq!(compiled.render(&context), "hi {who} }");
        assert_eq!(compiled.variables().count(), 0);
    }
}
