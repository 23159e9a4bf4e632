//! Materialization: a plan and the groups it targets become dated occurrences with stable keys.
//!
//! Deterministic by construction: the same plan, groups and window give the same occurrences in
//! the same order with the same keys, so the engine can write each as one outbox action whose
//! unique key makes a restart or a second instance harmless, and a plan edit is a diff of keys.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{
    ActionKind, ActionOrigin, Group, GroupStatus, GroupType, Instant, NewAction, Platform,
    WorkspaceId,
};

use crate::plan::{Anchor, Plan, Step, TimeRule};
use crate::render::{render_live, CompiledText, LiveFacts, RenderContext};
use crate::schedule::{fires_between, Fire};

/// What the SOP needs to know about one group, as the engine sees it at planning time.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFacts {
    pub chat: String,
    pub name: String,
    pub group_type: GroupType,
    pub tags: Vec<String>,
    /// Archived or dissolved groups get nothing.
    pub active: bool,
    /// Anchor of relative `group_created` rules; nothing is planned before it.
    pub created_at: DateTime<Utc>,
    pub member_count: u32,
    /// The platform's `Capabilities::send_autonomously`; false routes posts to a person (WeCom).
    pub send_autonomously: bool,
    /// Pre-formatted lines for `{checkin_leaders}`, best first.
    pub checkin_leaders: Vec<String>,
    /// Pre-formatted lines for `{invite_leaders}` and `{points_leaders}`, best first.
    pub invite_leaders: Vec<String>,
    pub points_leaders: Vec<String>,
    /// The group's own anchor dates (its course dates), added to the plan's.
    pub anchors: BTreeMap<String, Vec<NaiveDate>>,
}

impl GroupFacts {
    /// An active group that can post by itself, with no tags, members or anchors yet.
    pub fn new(
        chat: impl Into<String>,
        name: impl Into<String>,
        group_type: GroupType,
        created_at: DateTime<Utc>,
    ) -> Self {
        GroupFacts {
            chat: chat.into(),
            name: name.into(),
            group_type,
            tags: Vec::new(),
            active: true,
            created_at,
            member_count: 0,
            send_autonomously: true,
            checkin_leaders: Vec::new(),
            invite_leaders: Vec::new(),
            points_leaders: Vec::new(),
            anchors: BTreeMap::new(),
        }
    }

    /// Facts from a stored group; the engine adds what the group record does not hold.
    pub fn from_group(group: &Group, created_at: DateTime<Utc>, send_autonomously: bool) -> Self {
        let mut facts = GroupFacts::new(
            group.chat.clone(),
            group.name.clone(),
            group.group_type,
            created_at,
        );
        facts.tags = group.tags.clone();
        facts.active = group.status == GroupStatus::Active;
        facts.send_autonomously = send_autonomously;
        facts
    }
}

/// The chat a 朋友圈 occurrence is filed under (it belongs to no group).
pub const MOMENTS_CHAT: &str = "moments";

/// Who carries an occurrence out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// The connector posts it.
    Bot,
    /// The platform cannot post by itself: a person gets a task to send it (WeCom group sends).
    HumanTask,
}

/// One step firing in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// `sop:{plan}:{step}:{chat}:{scheduled_utc_rfc3339}`, the outbox idempotency key.
    pub key: String,
    pub plan: String,
    pub step: String,
    pub chat: String,
    pub scheduled: DateTime<Utc>,
    /// The wall-clock time it fires at (03:30 for a 02:30 step on the spring-forward day).
    pub local: NaiveDateTime,
    pub timezone: Tz,
    /// As the group would read it with the facts known at planning time (the preview shows it).
    pub text: String,
    /// What the outbox keeps: date, time and links filled, live variables (`{member_count}`,
    /// `{checkin_leaders}`, `{group}`) left for [`crate::render_live`] at send time.
    pub template: String,
    pub attachment: Option<String>,
    /// A 朋友圈 post for these staff (empty: the connector's staff) rather than a group post.
    pub moments: Option<Vec<String>>,
    /// A poll or a game instead of a plain post.
    pub activity: Option<crate::plan::Activity>,
    pub delivery: Delivery,
    pub grace: Duration,
}

/// The idempotency key of a step firing in a group.
pub fn occurrence_key(plan: &str, step: &str, chat: &str, scheduled: DateTime<Utc>) -> String {
    format!(
        "sop:{plan}:{step}:{chat}:{}",
        scheduled.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

impl Occurrence {
    /// After this it is skipped rather than sent late.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.scheduled.plus(self.grace)
    }

    /// The outbox `origin` of its action.
    pub fn origin(&self) -> ActionOrigin {
        ActionOrigin::Sop {
            plan: self.plan.clone(),
            version: None,
            step: self.step.clone(),
        }
    }

    /// The template with its http(s) links rewritten to tracked `{base_url}/l/{code}` links, and
    /// the `(code, url)` pairs to store; codes derive from this occurrence's key.
    pub fn tracked_text(&self, base_url: &str) -> (String, Vec<(String, String)>) {
        crate::links::rewrite_links(
            &self.template,
            |url| crate::links::link_code(&self.key, url),
            base_url,
        )
    }

    /// The outbox action for a bot-delivered occurrence; `not_before` comes from [`crate::spread`]
    /// (or is `scheduled`). The attachment, if any, goes on its own line after the text.
    pub fn to_new_action(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        created_at: DateTime<Utc>,
        not_before: DateTime<Utc>,
    ) -> NewAction {
        let text = match &self.attachment {
            Some(attachment) => format!("{}\n{attachment}", self.template),
            None => self.template.clone(),
        };
        NewAction {
            workspace,
            platform,
            chat: self.chat.clone(),
            key: self.key.clone(),
            kind: ActionKind::SendMessage {
                text,
                html: None,
                mentions: Vec::new(),
                reply_to: None,
            },
            created_at,
            not_before,
            expires_at: Some(self.expires_at()),
            dry_run: false,
            origin: self.origin(),
            cause: None,
        }
    }
}

/// Every occurrence of `plan` in `groups` scheduled in `[from, until)`, ordered by time then key.
pub fn materialize(
    plan: &Plan,
    groups: &[GroupFacts],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Occurrence> {
    let mut occurrences = Vec::new();
    for step in &plan.steps {
        materialize_step(plan, step, groups, from, until, &mut occurrences);
    }
    occurrences.sort_by(|a, b| {
        a.scheduled
            .cmp(&b.scheduled)
            .then_with(|| a.key.cmp(&b.key))
    });
    occurrences
}

fn materialize_step(
    plan: &Plan,
    step: &Step,
    groups: &[GroupFacts],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    out: &mut Vec<Occurrence>,
) {
    let targeted: Vec<GroupFacts> = groups
        .iter()
        .filter(|group| {
            group.active
                && step
                    .target
                    .matches(&group.chat, group.group_type, &group.tags)
        })
        .cloned()
        .collect();
    // A moment goes to the staff's customers, not into a group: one per firing, filed under
    // the pseudo-chat `moments` (rendered with the first targeted group's facts).
    let targeted: Vec<GroupFacts> = match &step.content.moments {
        Some(_) => targeted
            .into_iter()
            .take(1)
            .map(|mut group| {
                group.chat = MOMENTS_CHAT.to_string();
                group
            })
            .collect(),
        None => targeted,
    };
    let targeted = targeted.iter();
    let compiled = CompiledText::compile_lenient(&step.content.text);
    let emit = |group: &GroupFacts, fire: &Fire, out: &mut Vec<Occurrence>| {
        if fire.instant < group.created_at {
            return;
        }
        let context = RenderContext {
            group_name: &group.name,
            date: fire.nominal.date(),
            time: fire.nominal.time(),
            member_count: group.member_count,
            checkin_leaders: &group.checkin_leaders,
            invite_leaders: &group.invite_leaders,
            points_leaders: &group.points_leaders,
            links: &plan.links,
        };
        let template = compiled.plan_template(&context);
        let live = LiveFacts {
            group_name: &group.name,
            member_count: group.member_count,
            checkin_leaders: &group.checkin_leaders,
            invite_leaders: &group.invite_leaders,
            points_leaders: &group.points_leaders,
        };
        out.push(Occurrence {
            text: render_live(&template, &live),
            template,
            key: occurrence_key(&plan.id, &step.id, &group.chat, fire.instant),
            plan: plan.id.clone(),
            step: step.id.clone(),
            chat: group.chat.clone(),
            scheduled: fire.instant,
            local: fire.instant.with_timezone(&step.timezone).naive_local(),
            timezone: step.timezone,
            attachment: step.content.attachment.clone(),
            moments: step.content.moments.clone(),
            activity: step.content.activity.clone(),
            delivery: if group.send_autonomously {
                Delivery::Bot
            } else {
                Delivery::HumanTask
            },
            grace: step.grace,
        });
    };
    match &step.rule {
        TimeRule::Relative {
            anchor: Anchor::GroupCreated,
            ..
        } => {
            for group in targeted {
                let created = group.created_at.with_timezone(&step.timezone).date_naive();
                for fire in fires_between(step, &[created], from, until) {
                    emit(group, &fire, out);
                }
            }
        }
        TimeRule::Relative {
            anchor: Anchor::Named(name),
            ..
        } => {
            let shared_dates = plan
                .anchors
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let shared_fires = fires_between(step, shared_dates, from, until);
            for group in targeted {
                match group.anchors.get(name) {
                    Some(own) => {
                        let dates: Vec<NaiveDate> =
                            shared_dates.iter().chain(own).copied().collect();
                        for fire in fires_between(step, &dates, from, until) {
                            emit(group, &fire, out);
                        }
                    }
                    None => shared_fires.iter().for_each(|fire| emit(group, fire, out)),
                }
            }
        }
        _ => {
            // Calendar rules fire at the same instants for every group: compute them once.
            let fires = fires_between(step, &[], from, until);
            if fires.is_empty() {
                return;
            }
            for group in targeted {
                fires.iter().for_each(|fire| emit(group, fire, out));
            }
        }
    }
}

/// What changes in the outbox when a plan is edited: only occurrences from `now` on move.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replan {
    /// Keys of unsent future occurrences the new version no longer has: cancel them.
    pub cancel: Vec<String>,
    /// New occurrences to write.
    pub add: Vec<Occurrence>,
    /// Same key, different content or delivery: rewrite the pending action.
    pub update: Vec<Occurrence>,
    pub unchanged: usize,
}

/// Compares both versions over `[now, now + horizon)`; the past is never touched.
pub fn replan(
    old: &Plan,
    new: &Plan,
    groups: &[GroupFacts],
    now: DateTime<Utc>,
    horizon: Duration,
) -> Replan {
    let until = now.plus(horizon);
    let mut before: BTreeMap<String, Occurrence> = materialize(old, groups, now, until)
        .into_iter()
        .map(|occurrence| (occurrence.key.clone(), occurrence))
        .collect();
    let mut result = Replan::default();
    for occurrence in materialize(new, groups, now, until) {
        match before.remove(&occurrence.key) {
            None => result.add.push(occurrence),
            Some(previous) if previous == occurrence => result.unchanged += 1,
            Some(_) => result.update.push(occurrence),
        }
    }
    result.cancel = before.into_keys().collect();
    result
}

#[cfg(test)]
mod tests;
