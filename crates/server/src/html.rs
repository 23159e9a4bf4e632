//! HTML building blocks: escaping, the page shell (sidebar, top bar), and small widgets.
//!
//! Pages are format strings; every value that came from a user, a platform or the store goes
//! through [`esc`] (or [`attr`]) on its way in, and nothing else is ever inserted raw.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::auth::{Principal, CSRF_FIELD};
use crate::i18n::Lang;

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Everything but RFC 3986's unreserved characters is encoded.
const URL_PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a path segment or query value.
pub fn url_part(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, URL_PART).to_string()
}

/// What every page needs to render its shell.
#[derive(Debug, Clone)]
pub struct Shell {
    pub lang: Lang,
    pub principal: Principal,
    /// Path and query of this page, for the language switch to come back to.
    pub here: String,
    pub zone: Tz,
}

impl Shell {
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> String {
        format!(
            r#"<input type="hidden" name="{CSRF_FIELD}" value="{}">"#,
            esc(self.principal.csrf.as_deref().unwrap_or(""))
        )
    }

    /// Local date and time in the workspace's zone.
    pub fn when(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    pub fn when_opt(&self, at: Option<DateTime<Utc>>) -> String {
        at.map_or_else(|| self.t("common.never").to_string(), |at| self.when(at))
    }

    /// A full page: sidebar with `active` highlighted, top bar, and `body`.
    pub fn page(&self, active: &str, title: &str, body: &str) -> String {
        const NAV: [(&str, &str, &str); 8] = [
            ("overview", "/", "M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z"),
            ("groups", "/groups", "M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.7 0-8 1.3-8 4v3h16v-3c0-2.7-5.3-4-8-4zm8 0c-.3 0-.7 0-1.1.1 1.2.9 2.1 2.1 2.1 3.9v3h7v-3c0-2.7-5.3-4-8-4z"),
            ("members", "/members", "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-2.7 0-8 1.3-8 4v2h16v-2c0-2.7-5.3-4-8-4z"),
            ("rules", "/rules", "M6 2h9l5 5v15H6V2zm8 1.5V8h4.5M9 12h8M9 16h8"),
            ("sop", "/sop", "M7 2v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-2V2h-2v2H9V2H7zm-2 8h14v10H5V10z"),
            ("moderation", "/moderation", "M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5l-8-3z"),
            ("audit", "/audit", "M4 4h16v2H4V4zm0 5h16v2H4V9zm0 5h10v2H4v-2zm0 5h10v2H4v-2z"),
            ("settings", "/settings", "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm9 4-2.1-.7-.6-1.5 1-2-1.4-1.4-2 1-1.5-.6L14 4h-4l-.7 2.1-1.5.6-2-1-1.4 1.4 1 2-.6 1.5L2 12v2l2.1.7.6 1.5-1 2 1.4 1.4 2-1 1.5.6L10 22h4l.7-2.1 1.5-.6 2 1 1.4-1.4-1-2 .6-1.5L21 14v-2z"),
        ];
        let mut nav = String::new();
        for (key, href, icon) in NAV {
            let current = if key == active {
                r#" aria-current="page" class="on""#
            } else {
                ""
            };
            let _ = write!(
                nav,
                r#"<a href="{href}"{current}><svg viewBox="0 0 24 24" aria-hidden="true"><path d="{icon}"/></svg><span>{}</span></a>"#,
                self.t(&format!("nav.{key}"))
            );
        }
        let lang = self.lang;
        let other = lang.other();
        format!(
            r##"<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} · {app}</title><link rel="stylesheet" href="/assets/console.css"><link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<script src="/assets/console.js" defer></script></head>
<body><a class="skip" href="#main">{skip}</a>
<aside class="side" id="side"><div class="brand"><span class="logo" aria-hidden="true">群</span><div><strong>{app}</strong><small>{tagline}</small></div></div>
<nav aria-label="{menu}">{nav}</nav></aside>
<div class="wrap"><header class="top">
<button class="menu" type="button" aria-controls="side" aria-expanded="false" data-menu><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 6h18v2H3zm0 5h18v2H3zm0 5h18v2H3z"/></svg><span class="sr">{menu}</span></button>
<h1>{title}</h1><div class="who"><a class="lang" href="/lang?set={other_code}&amp;next={next}" hreflang="{other_code}">{switch}</a>
<span class="user">{user} <em>{role}</em></span>
<form method="post" action="/logout">{csrf}<button class="link" type="submit">{signout}</button></form></div></header>
<main id="main" tabindex="-1">{body}</main></div></body></html>"##,
            html_lang = lang.html_lang(),
            title = esc(title),
            app = self.t("app.name"),
            tagline = self.t("app.tagline"),
            skip = if lang == Lang::Zh {
                "跳到正文"
            } else {
                "Skip to content"
            },
            menu = self.t("nav.menu"),
            other_code = other.code(),
            next = url_part(&self.here),
            switch = self.t("lang.switch"),
            user = esc(&self.principal.display_name),
            role = self.t(&format!("urole.{}", self.principal.role.as_str())),
            csrf = self.csrf_field(),
            signout = self.t("nav.signout"),
        )
    }
}

/// A page without the signed-in shell (sign-in, errors before sign-in).
pub fn bare_page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{} · {}</title><link rel="stylesheet" href="/assets/console.css"><link rel="icon" href="/assets/favicon.svg" type="image/svg+xml"></head>
<body class="bare"><main id="main">{body}</main></body></html>"#,
        lang.html_lang(),
        esc(title),
        lang.t("app.name"),
    )
}

/// A card with a heading; `body` is already HTML.
pub fn card(title: &str, body: &str) -> String {
    format!(
        r#"<section class="card"><h2>{}</h2>{body}</section>"#,
        esc(title)
    )
}

/// A flash message (success or error) at the top of a page.
pub fn notice(kind: &str, text: &str) -> String {
    let role = if kind == "error" { "alert" } else { "status" };
    format!(
        r#"<p class="notice {kind}" role="{role}">{}</p>"#,
        esc(text)
    )
}

/// A small coloured label.
pub fn pill(kind: &str, text: &str) -> String {
    format!(r#"<span class="pill {}">{}</span>"#, esc(kind), esc(text))
}

/// A `<select>` of `(value, label)` with `selected` chosen; `blank` adds an empty first option.
pub fn select(
    name: &str,
    id: &str,
    options: &[(String, String)],
    selected: &str,
    blank: Option<&str>,
) -> String {
    let mut out = format!(r#"<select name="{}" id="{}">"#, esc(name), esc(id));
    if let Some(label) = blank {
        let _ = write!(out, r#"<option value="">{}</option>"#, esc(label));
    }
    for (value, label) in options {
        let chosen = if value == selected { " selected" } else { "" };
        let _ = write!(
            out,
            r#"<option value="{}"{chosen}>{}</option>"#,
            esc(value),
            esc(label)
        );
    }
    out.push_str("</select>");
    out
}

/// An empty-state row for a table of `columns` columns.
pub fn empty_row(lang: Lang, columns: usize) -> String {
    format!(
        r#"<tr><td colspan="{columns}" class="empty">{}</td></tr>"#,
        lang.t("common.none")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_in_text_and_attributes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(url_part("/groups?x=1&y"), "%2Fgroups%3Fx%3D1%26y");
        let select = select(
            "tier",
            "tier",
            &[("vip".into(), "<VIP>".into())],
            "vip",
            Some("all"),
        );
        assert!(
            select.contains(r#"<option value="vip" selected>&lt;VIP&gt;</option>"#),
            "{select}"
        );
    }
}
