//! What the growth pages' forms share: a fresh request id per rendered form (a double submit is
//! one operation), the workspace's groups as choices, and reading numbers and local times with
//! the field named in the error.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use maud::{html, Markup};
use qunzhu_domain::{Group, GroupId};
use rand::RngCore;

use super::{FormData, PageError};
use crate::html::Shell;
use crate::{ApiError, Ctx};

/// A random id for one rendered form, sent back as its `request`.
pub fn fresh_request() -> String {
    let mut random = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut random);
    hex::encode(random)
}

/// The workspace's groups, by name.
pub async fn groups(ctx: &Ctx, shell: &Shell) -> Result<Vec<Group>, PageError> {
    let mut groups: Vec<Group> = ctx
        .app
        .store
        .groups(shell.principal.workspace)
        .await?
        .into_iter()
        .map(|summary| summary.group)
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(groups)
}

/// A group `<select>` named `group`, valued by group id.
pub fn group_select(shell: &Shell, groups: &[Group], selected: Option<GroupId>) -> Markup {
    html! {
        label { (shell.t("common.group"))
            select name="group" required {
                @for group in groups {
                    option value=(group.id) selected[selected == Some(group.id)] {
                        (group.name) " (" (group.platform.as_str()) ")"
                    }
                }
            }
        }
    }
}

/// The group a form names (`NotFound` outside the workspace).
pub async fn chosen_group(ctx: &Ctx, shell: &Shell, form: &FormData) -> Result<Group, PageError> {
    let id: GroupId = number(form, "group")?;
    Ok(ctx.app.store.group(shell.principal.workspace, id).await?)
}

/// A whole number from a field, or an error naming it.
pub fn number<T: std::str::FromStr>(form: &FormData, field: &str) -> Result<T, ApiError> {
    form.get(field)
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid(field, format!("{field}: give a whole number")))
}

/// A `datetime-local` field read in the workspace's time zone; empty is `None`.
pub fn local_time(
    shell: &Shell,
    form: &FormData,
    field: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let text = form.get(field).trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || {
        ApiError::invalid(
            field,
            format!("{field}: give a local date and time like 2026-12-01T20:00, got {text}"),
        )
    };
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .map_err(|_| bad())?;
    shell
        .zone
        .from_local_datetime(&naive)
        .earliest()
        .map(|at| Some(at.to_utc()))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_local_times_name_their_field() {
        let form = FormData(vec![
            ("shares".into(), " 10 ".into()),
            ("minutes".into(), "ten".into()),
        ]);
        assert_eq!(number::<u32>(&form, "shares").ok(), Some(10));
        let error = number::<u32>(&form, "minutes").unwrap_err();
        assert!(error.message.contains("minutes"), "{}", error.message);
    }
}
