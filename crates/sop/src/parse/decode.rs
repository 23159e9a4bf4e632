//! The decoder: a document tree to a checked [`Plan`], collecting every diagnostic on the way.
//!
//! Written by hand rather than with serde so that every message carries the exact field path and
//! span, unknown keys are caught where they were written, and all problems are reported at once.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use qunzhu_domain::GroupType;

use super::node::{Node, Value};
use super::reader::{Decoder, Table};
use super::{fields, Diagnostic};
use crate::plan::{ActiveWindow, Content, Plan, Step, Target, DEFAULT_GRACE};

const PLAN_KEYS: &[&str] = &[
    "id",
    "name",
    "timezone",
    "active_from",
    "active_until",
    "blackout",
    "target",
    "links",
    "anchors",
    "grace_minutes",
    "steps",
];
const STEP_KEYS: &[&str] = &[
    "id",
    "title",
    "repeat",
    "at",
    "weekdays",
    "day",
    "months",
    "date",
    "anchor",
    "offset_days",
    "text",
    "attachment",
    "timezone",
    "active_from",
    "active_until",
    "blackout",
    "target",
    "grace_minutes",
    "kind",
    "staff",
    "options",
    "questions",
    "drop",
];
const TARGET_KEYS: &[&str] = &["all", "chats", "group_types", "tags"];
pub(crate) fn decode(
    root: &Node,
    source: Option<&str>,
    file: &str,
    default_id: &str,
    zone: Tz,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut decoder = Decoder {
        source,
        file,
        zone,
        diagnostics: Vec::new(),
    };
    let plan = decoder.plan(root, default_id);
    match plan {
        Some(plan) if decoder.diagnostics.is_empty() => Ok(plan),
        _ => Err(decoder.diagnostics),
    }
}

/// Plan-level settings each step starts from.
struct Defaults {
    timezone: Tz,
    window: ActiveWindow,
    blackout: BTreeSet<NaiveDate>,
    target: Option<Target>,
    /// The plan has a `target`, even a wrong one (already reported): steps need not repeat it.
    target_written: bool,
    grace: Duration,
}

impl Decoder<'_> {
    fn plan(&mut self, root: &Node, default_id: &str) -> Option<Plan> {
        let table = self.table(root, "", PLAN_KEYS)?;
        let id = match table.get("id") {
            Some(node) => self.parsed(node, "id", fields::id),
            None => fields::id(default_id)
                .map_err(|message| {
                    self.report(
                        "id",
                        None,
                        format!("missing `id` and the file name cannot be one: {message}"),
                    )
                })
                .ok(),
        };
        let name = table.get("name").and_then(|node| self.string(node, "name"));
        let timezone = table
            .get("timezone")
            .and_then(|node| self.parsed(node, "timezone", fields::timezone));
        let window = self.window(&table, ActiveWindow::default());
        let blackout = self.blackout(&table);
        let target = table
            .get("target")
            .and_then(|node| self.target(node, "target"));
        let links = table
            .get("links")
            .map(|node| self.links(node))
            .unwrap_or_default();
        let anchors = table
            .get("anchors")
            .map(|node| self.anchors(node))
            .unwrap_or_default();
        let grace = self.grace(&table).unwrap_or(DEFAULT_GRACE);
        let target_written = table.get("target").is_some();
        let defaults = Defaults {
            timezone: timezone.unwrap_or(self.zone),
            window,
            blackout,
            target,
            target_written,
            grace,
        };

        let mut steps = Vec::new();
        match table.get("steps") {
            Some(node) => {
                let items = self.array(node, "steps").unwrap_or_default();
                if items.is_empty() {
                    self.report(
                        "steps",
                        node.span.as_ref(),
                        "a plan needs at least one step",
                    );
                }
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                for (index, item) in items.iter().enumerate() {
                    let path = format!("steps[{index}]");
                    let Some(step) = self.step(item, &path, &defaults, &links) else {
                        continue;
                    };
                    if let Some(first) = seen.get(&step.id) {
                        let span = entry_node(item, "id").and_then(|node| node.span.clone());
                        self.report(
                            &format!("{path}.id"),
                            span.as_ref(),
                            format!("duplicate step id `{}` (also steps[{first}])", step.id),
                        );
                    } else {
                        seen.insert(step.id.clone(), index);
                    }
                    steps.push(step);
                }
            }
            None => self.report(
                "steps",
                root.span.as_ref(),
                "a plan needs at least one step: add a [[steps]] table",
            ),
        }
        let id = id?;
        Some(Plan {
            name: name.unwrap_or_else(|| id.clone()),
            id,
            timezone: defaults.timezone,
            links,
            anchors,
            steps,
        })
    }

    fn window(&mut self, table: &Table<'_>, inherited: ActiveWindow) -> ActiveWindow {
        let mut window = inherited;
        if let Some(node) = table.get("active_from") {
            window.from = self
                .parsed(node, &table.path("active_from"), fields::date)
                .or(window.from);
        }
        if let Some(node) = table.get("active_until") {
            window.until = self
                .parsed(node, &table.path("active_until"), fields::date)
                .or(window.until);
        }
        let written_here =
            table.get("active_from").is_some() || table.get("active_until").is_some();
        if let (Some(from), Some(until), true) = (window.from, window.until, written_here) {
            if from > until {
                let span = table
                    .get("active_until")
                    .or(table.get("active_from"))
                    .and_then(|node| node.span.clone());
                self.report(
                    &table.path("active_until"),
                    span.as_ref(),
                    format!("active_until {until} is before active_from {from}: the step would never fire"),
                );
            }
        }
        window
    }

    fn blackout(&mut self, table: &Table<'_>) -> BTreeSet<NaiveDate> {
        let Some(node) = table.get("blackout") else {
            return BTreeSet::new();
        };
        self.each(node, &table.path("blackout"), |decoder, item, path| {
            decoder.parsed(item, path, fields::date)
        })
        .into_iter()
        .collect()
    }

    fn grace(&mut self, table: &Table<'_>) -> Option<Duration> {
        let node = table.get("grace_minutes")?;
        self.integer(node, &table.path("grace_minutes"), 0..=1440)
            .map(Duration::minutes)
    }

    /// `kind = "post"` (default), `"moment"` with an optional `staff` list, or one of the
    /// activities (`poll`, `dice`, `quiz`, `drop`, see `activity.rs`); `None` for an unknown kind.
    fn step_kind(&mut self, table: &Table<'_>) -> Option<String> {
        let Some(node) = table.get("kind") else {
            return Some("post".into());
        };
        let text = self.string(node, &table.path("kind"))?;
        if super::activity::KINDS.contains(&text.as_str()) {
            return Some(text);
        }
        self.report(
            &table.path("kind"),
            node.span.as_ref(),
            format!(
                "unknown step kind `{text}`; expected one of: {}",
                super::activity::KINDS.join(", ")
            ),
        );
        None
    }

    /// The staff of a 朋友圈 step (`kind = "moment"`), `None` for other kinds.
    fn moment_staff(&mut self, table: &Table<'_>, kind: &str) -> Option<Vec<String>> {
        let moment = kind == "moment";
        let staff = table.get("staff").map(|node| {
            (
                node,
                self.each(node, &table.path("staff"), |decoder, item, path| {
                    decoder.string(item, path)
                }),
            )
        });
        match (moment, staff) {
            (true, staff) => Some(staff.map(|(_, staff)| staff).unwrap_or_default()),
            (false, Some((node, _))) => {
                self.report(
                    &table.path("staff"),
                    node.span.as_ref(),
                    "`staff` is for 朋友圈 steps: set kind = \"moment\"",
                );
                None
            }
            (false, None) => None,
        }
    }

    fn target(&mut self, node: &Node, path: &str) -> Option<Target> {
        let table = self.table(node, path, TARGET_KEYS)?;
        let reported_before = self.diagnostics.len();
        let mut target = Target::default();
        if let Some(node) = table.get("all") {
            match node.value {
                Value::Bool(all) => target.all = all,
                ref other => self.report(
                    &table.path("all"),
                    node.span.as_ref(),
                    format!("expected a boolean, found {}", other.kind()),
                ),
            }
        }
        if let Some(node) = table.get("chats") {
            target.chats = self.each(node, &table.path("chats"), |decoder, item, path| {
                decoder.string(item, path)
            });
        }
        if let Some(node) = table.get("group_types") {
            target.group_types =
                self.each(node, &table.path("group_types"), |decoder, item, path| {
                    decoder.parsed(item, path, |text| {
                        GroupType::parse(text).map_err(|error| error.to_string())
                    })
                });
        }
        if let Some(node) = table.get("tags") {
            target.tags = self.each(node, &table.path("tags"), |decoder, item, path| {
                decoder.string(item, path)
            });
        }
        if target.is_empty() {
            // A list whose every item was wrong is empty too; its own diagnostics say enough.
            if self.diagnostics.len() == reported_before {
                self.report(
                    path,
                    node.span.as_ref(),
                    "empty target: list chats, group_types or tags, or set all = true",
                );
            }
            return None;
        }
        if self.diagnostics.len() > reported_before {
            return None;
        }
        Some(target)
    }

    fn links(&mut self, node: &Node) -> BTreeMap<String, String> {
        let Value::Table(entries) = &node.value else {
            self.report(
                "links",
                node.span.as_ref(),
                format!("expected a table, found {}", node.value.kind()),
            );
            return BTreeMap::new();
        };
        let mut links = BTreeMap::new();
        for entry in entries {
            let path = format!("links.{}", entry.key);
            let Some(url) = self.string(&entry.node, &path) else {
                continue;
            };
            if fields::id(&entry.key).is_err() {
                self.report(
                    &path,
                    entry.key_span.as_ref(),
                    format!(
                        "invalid link name `{}`: use letters, digits, `-` or `_`",
                        entry.key
                    ),
                );
            } else if !(url.starts_with("https://") || url.starts_with("http://")) {
                self.report(
                    &path,
                    entry.node.span.as_ref(),
                    format!(
                        "link `{}` must be an http(s) URL, found \"{url}\"",
                        entry.key
                    ),
                );
            } else {
                links.insert(entry.key.clone(), url);
            }
        }
        links
    }

    fn anchors(&mut self, node: &Node) -> BTreeMap<String, Vec<NaiveDate>> {
        let Value::Table(entries) = &node.value else {
            self.report(
                "anchors",
                node.span.as_ref(),
                format!("expected a table, found {}", node.value.kind()),
            );
            return BTreeMap::new();
        };
        let mut anchors = BTreeMap::new();
        for entry in entries {
            let path = format!("anchors.{}", entry.key);
            if entry.key == "group_created" {
                self.report(
                    &path,
                    entry.key_span.as_ref(),
                    "`group_created` is built in: it is each group's creation date",
                );
                continue;
            }
            let dates = self.each(&entry.node, &path, |decoder, item, path| {
                decoder.parsed(item, path, fields::date)
            });
            anchors.insert(entry.key.clone(), dates);
        }
        anchors
    }

    fn step(
        &mut self,
        node: &Node,
        path: &str,
        defaults: &Defaults,
        links: &BTreeMap<String, String>,
    ) -> Option<Step> {
        let table = self.table(node, path, STEP_KEYS)?;
        let id = self
            .required(&table, "id")
            .and_then(|node| self.parsed(node, &table.path("id"), fields::id));
        let title = table
            .get("title")
            .and_then(|node| self.string(node, &table.path("title")));
        let timezone = match table.get("timezone") {
            Some(node) => self.parsed(node, &table.path("timezone"), fields::timezone),
            None => Some(defaults.timezone),
        };
        let rule = self.rule(&table);
        let window = self.window(&table, defaults.window);
        let mut blackout = defaults.blackout.clone();
        blackout.extend(self.blackout(&table));
        let target = match table.get("target") {
            Some(node) => self.target(node, &table.path("target")),
            None => {
                if !defaults.target_written {
                    self.report(
                        &table.path("target"),
                        node.span.as_ref(),
                        "no target: set `target` on the plan or on this step",
                    );
                }
                defaults.target.clone()
            }
        };
        let text = self
            .required(&table, "text")
            .and_then(|node| self.text(node, &table.path("text"), links));
        let attachment = table
            .get("attachment")
            .and_then(|node| self.string(node, &table.path("attachment")));
        let grace = self.grace(&table).unwrap_or(defaults.grace);
        // One mistake, one diagnostic: an unknown kind's `staff` or `options` are not judged.
        let (moments, activity) = match self.step_kind(&table) {
            Some(kind) => (
                self.moment_staff(&table, &kind),
                self.activity(&table, &kind, text.as_deref()),
            ),
            None => (None, None),
        };
        let id = id?;
        Some(Step {
            title: title.unwrap_or_else(|| id.clone()),
            id,
            rule: rule?,
            timezone: timezone?,
            window,
            blackout,
            target: target?,
            content: Content {
                text: text?,
                attachment,
                moments,
                activity,
            },
            grace,
        })
    }
}

fn entry_node<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.value {
        Value::Table(entries) => entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.node),
        _ => None,
    }
}
