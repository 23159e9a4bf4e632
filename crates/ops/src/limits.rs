//! Size limits on what an operator types, checked before anything is stored, so an oversized
//! value is a field error naming where it is, never a megabyte row in the database.

use qunzhu_storage::{GroupUpdate, MemberUpdate};

use crate::{OpsError, Result};

/// Names shown in lists: a group's name, a tag.
pub const MAX_NAME_CHARS: usize = 200;
/// Free text: a group's positioning (purpose, audience, value, channel).
pub const MAX_TEXT_CHARS: usize = 2000;
pub const MAX_TAGS: usize = 50;

/// `Invalid` with the field path when `text` has more than `max` characters.
pub fn bounded(field: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(OpsError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(())
}

fn tags(field: &str, tags: Option<&[String]>) -> Result<()> {
    let Some(tags) = tags else { return Ok(()) };
    if tags.len() > MAX_TAGS {
        return Err(OpsError::invalid(field, format!("at most {MAX_TAGS} tags")));
    }
    for (index, tag) in tags.iter().enumerate() {
        bounded(&format!("{field}[{index}]"), tag, MAX_NAME_CHARS)?;
    }
    Ok(())
}

pub fn check_group_update(update: &GroupUpdate) -> Result<()> {
    if let Some(name) = &update.name {
        bounded("name", name, MAX_NAME_CHARS)?;
    }
    tags("tags", update.tags.as_deref())?;
    if let Some(positioning) = &update.positioning {
        for (field, text) in [
            ("positioning.purpose", &positioning.purpose),
            ("positioning.audience", &positioning.audience),
            ("positioning.value", &positioning.value),
            ("positioning.channel", &positioning.channel),
        ] {
            bounded(field, text, MAX_TEXT_CHARS)?;
        }
    }
    Ok(())
}

pub fn check_member_update(update: &MemberUpdate) -> Result<()> {
    tags("tags", update.tags.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_fields_are_refused_with_their_path() {
        let huge = "群".repeat(1_000_000);
        let cases = [
            (
                GroupUpdate {
                    name: Some(huge.clone()),
                    ..GroupUpdate::default()
                },
                "name: at most 200 characters",
            ),
            (
                GroupUpdate {
                    tags: Some(vec!["ok".into(), "x".repeat(201)]),
                    ..GroupUpdate::default()
                },
                "tags[1]: at most 200 characters",
            ),
            (
                GroupUpdate {
                    tags: Some(vec!["t".into(); 51]),
                    ..GroupUpdate::default()
                },
                "tags: at most 50 tags",
            ),
            (
                GroupUpdate {
                    positioning: Some(qunzhu_domain::Positioning {
                        audience: huge.clone(),
                        ..Default::default()
                    }),
                    ..GroupUpdate::default()
                },
                "positioning.audience: at most 2000 characters",
            ),
        ];
        for (update, expected) in cases {
            assert_eq!(
                check_group_update(&update).map_err(|e| e.to_string()),
                Err(expected.to_string())
            );
        }
        let fine = GroupUpdate {
            name: Some("群".repeat(200)),
            ..GroupUpdate::default()
        };
        assert!(check_group_update(&fine).is_ok());
        let member = MemberUpdate {
            tags: Some(vec!["y".repeat(300)]),
            ..MemberUpdate::default()
        };
        assert_eq!(
            check_member_update(&member).map_err(|e| e.to_string()),
            Err("tags[0]: at most 200 characters".to_string())
        );
    }
}
