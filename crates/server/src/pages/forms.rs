//! Accessible form fields: a label, the control, and its error right beside it.
//!
//! A field with an error is marked `aria-invalid` and points at its message with
//! `aria-describedby`, so screen readers read the message with the field.

use maud::{html, Markup};

use crate::html::esc;

/// Errors of one submitted form, by field name.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, message)| message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn described(name: &str, error: Option<&str>) -> (String, String) {
    match error {
        Some(message) => (
            format!(
                r#" aria-invalid="true" aria-describedby="{}-error""#,
                esc(name)
            ),
            format!(
                r#"<p class="field-error" id="{}-error">{}</p>"#,
                esc(name),
                esc(message)
            ),
        ),
        None => (String::new(), String::new()),
    }
}

/// A labelled one-line text input.
pub fn text(label: &str, name: &str, value: &str, errors: &FieldErrors, extra: &str) -> String {
    let (aria, message) = described(name, errors.get(name));
    format!(
        r#"<div class="field"><label for="f-{n}">{label}</label><input id="f-{n}" name="{n}" value="{v}"{aria} {extra}>{message}</div>"#,
        n = esc(name),
        label = esc(label),
        v = esc(value),
    )
}

/// A labelled select of `(value, label)`.
pub fn choice(
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FieldErrors,
) -> String {
    let (aria, message) = described(name, errors.get(name));
    let mut control = crate::html::select(name, &format!("f-{name}"), options, selected, None);
    if !aria.is_empty() {
        control = control.replacen("<select ", &format!("<select{aria} "), 1);
    }
    format!(
        r#"<div class="field"><label for="f-{n}">{label}</label>{control}{message}</div>"#,
        n = esc(name),
        label = esc(label)
    )
}

/// What a text field asks the browser for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Plain,
    Required,
    Numeric,
}

/// A labelled one-line text input; an error sits under it, tied to it for screen readers.
pub fn text_field(
    label: &str,
    name: &str,
    value: &str,
    errors: &FieldErrors,
    input: Input,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    let error_id = format!("{name}-error");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) value=(value)
                required[input == Input::Required]
                inputmode=[(input == Input::Numeric).then_some("numeric")]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())];
            @if let Some(message) = error { p.field-error id=(error_id) { (message) } }
        }
    }
}

/// A labelled select of `(value, label)`.
pub fn choice_field(
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    let error_id = format!("{name}-error");
    html! {
        div.field {
            label for=(id) { (label) }
            select name=(name) id=(id)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            @if let Some(message) = error { p.field-error id=(error_id) { (message) } }
        }
    }
}

/// A checkbox with its label after it.
pub fn check_field(label: &str, name: &str, checked: bool) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field.check {
            input type="checkbox" id=(id) name=(name) value="1" checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// Comma- or 、-separated tags as a list, trimmed, without empties or repeats.
pub fn parse_tags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_sit_beside_their_field_and_values_are_kept() {
        let mut errors = FieldErrors::default();
        errors.add("capacity", "between 1 and 100000");
        let html = text("Capacity", "capacity", "abc<", &errors, "");
        assert!(html.contains(r#"value="abc&lt;""#));
        assert!(html.contains(r#"aria-describedby="capacity-error""#));
        assert!(
            html.contains(r#"<p class="field-error" id="capacity-error">between 1 and 100000</p>"#)
        );
        assert_eq!(parse_tags("a, b，a、 c ,"), vec!["a", "b", "c"]);
        let field =
            text_field("Capacity", "capacity", "abc<", &errors, Input::Numeric).into_string();
        assert_eq!(
            field,
            r#"<div class="field"><label for="f-capacity">Capacity</label><input id="f-capacity" name="capacity" value="abc&lt;" inputmode="numeric" aria-invalid="true" aria-describedby="capacity-error"><p class="field-error" id="capacity-error">between 1 and 100000</p></div>"#
        );
    }
}
