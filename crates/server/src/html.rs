//! HTML building blocks: the page shell (sidebar, top bar, language switch, CSRF field) and
//! small widgets, written with maud, which escapes every inserted value by default and checks
//! the markup at compile time; raw HTML needs `PreEscaped`, written on purpose.
//!
//! The format-string helpers at the end ([`esc`], [`card`], [`select`]…) serve the pages not yet
//! moved over; every value they insert goes through [`esc`].

use std::fmt::Write;

use maud::{html, Markup, PreEscaped, DOCTYPE};

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
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.principal.csrf.as_deref().unwrap_or("")); }
    }

    /// [`Shell::csrf`] as a string, for pages still built from format strings.
    pub fn csrf_field(&self) -> String {
        self.csrf().into_string()
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

    /// A `<time>` element in the workspace's zone.
    pub fn time(&self, at: DateTime<Utc>) -> Markup {
        html! { time datetime=(at.to_rfc3339()) { (self.when(at)) } }
    }

    /// A full page: sidebar with `active` highlighted, top bar (language switch, user, sign-out
    /// form with its CSRF field) and `body`.
    pub fn render(&self, active: &str, title: &str, body: Markup) -> String {
        let lang = self.lang;
        let other = lang.other();
        let switch = format!("/lang?set={}&next={}", other.code(), url_part(&self.here));
        let skip = if lang == Lang::Zh {
            "跳到正文"
        } else {
            "Skip to content"
        };
        html! {
            (DOCTYPE)
            html lang=(lang.html_lang()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width,initial-scale=1";
                    title { (title) " · " (self.t("app.name")) }
                    link rel="stylesheet" href="/assets/console.css";
                    link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                    script src="/assets/console.js" defer {}
                }
                body {
                    a.skip href="#main" { (skip) }
                    aside.side #side {
                        div.brand {
                            span.logo aria-hidden="true" { "群" }
                            div { strong { (self.t("app.name")) } small { (self.t("app.tagline")) } }
                        }
                        nav aria-label=(self.t("nav.menu")) {
                            @for &(key, href, icon) in NAV {
                                a href=(href) class=[(key == active).then_some("on")]
                                    aria-current=[(key == active).then_some("page")] {
                                    svg viewBox="0 0 24 24" aria-hidden="true" { path d=(icon) {} }
                                    span { (self.t(&format!("nav.{key}"))) }
                                }
                            }
                        }
                    }
                    div.wrap {
                        header.top {
                            button.menu type="button" aria-controls="side" aria-expanded="false" data-menu {
                                svg viewBox="0 0 24 24" aria-hidden="true" { path d="M3 6h18v2H3zm0 5h18v2H3zm0 5h18v2H3z" {} }
                                span.sr { (self.t("nav.menu")) }
                            }
                            h1 { (title) }
                            div.who {
                                a.lang href=(switch) hreflang=(other.code()) { (self.t("lang.switch")) }
                                span.user { (self.principal.display_name) " " em { (self.t(&format!("urole.{}", self.principal.role.as_str()))) } }
                                form method="post" action="/logout" {
                                    (self.csrf())
                                    button.link type="submit" { (self.t("nav.signout")) }
                                }
                            }
                        }
                        main #main tabindex="-1" { (body) }
                    }
                }
            }
        }
        .into_string()
    }

    /// [`Shell::render`] for a body that is already HTML (pages still built from format strings,
    /// whose values went through [`esc`]).
    pub fn page(&self, active: &str, title: &str, body: &str) -> String {
        self.render(active, title, PreEscaped(body.to_string()))
    }
}

/// The sidebar: key (for `nav.{key}` and `active`), path, icon path.
const NAV: &[(&str, &str, &str)] = &[
    ("overview", "/", "M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z"),
    ("today", "/today", "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 5h-2v6l5 3 1-1.7-4-2.3V7z"),
    ("groups", "/groups", "M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.7 0-8 1.3-8 4v3h16v-3c0-2.7-5.3-4-8-4zm8 0c-.3 0-.7 0-1.1.1 1.2.9 2.1 2.1 2.1 3.9v3h7v-3c0-2.7-5.3-4-8-4z"),
    ("members", "/members", "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-2.7 0-8 1.3-8 4v2h16v-2c0-2.7-5.3-4-8-4z"),
    ("rules", "/rules", "M6 2h9l5 5v15H6V2zm8 1.5V8h4.5M9 12h8M9 16h8"),
    ("sop", "/sop", "M7 2v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-2V2h-2v2H9V2H7zm-2 8h14v10H5V10z"),
    ("moderation", "/moderation", "M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5l-8-3z"),
    ("orders", "/orders", "M7 18a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm10 0a2 2 0 1 0 0 4 2 2 0 0 0 0-4zM5.2 4H2v2h2l3.6 7.6L6.2 16H19v-2H9.4l1-2h7.4a2 2 0 0 0 1.8-1l3.4-6.4L21 4H5.2z"),
    ("campaigns", "/campaigns", "M20 7h-3.2A3 3 0 0 0 12 3.8 3 3 0 0 0 7.2 7H4v5h1v9h14v-9h1V7zm-7-1a1 1 0 1 1 1 1h-1V6zm-3 0a1 1 0 0 1 1 1H10a1 1 0 0 1 0-1zm1 13H7v-7h4v7zm0-9H6V9h5v1zm6 9h-4v-7h4v7zm1-9h-5V9h5v1z"),
    ("landing", "/landing", "M7 2h10a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm0 3v12h10V5H7zm3 14v1h4v-1h-4z"),
    ("plays", "/plays", "M7 4a3 3 0 1 0 0 6 3 3 0 0 0 0-6zm10 0a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM2 20v-2c0-2.2 2.7-4 5-4s5 1.8 5 4v2H2zm10 0v-2c0-2.2 2.7-4 5-4s5 1.8 5 4v2H12z"),
    ("lotteries", "/lotteries", "M20 6h-2.2A3 3 0 0 0 12 4a3 3 0 0 0-5.8 2H4v4h16V6zM5 12v8h6v-8H5zm8 0v8h6v-8h-6z"),
    ("leaderboards", "/leaderboards", "M7 21H3v-8h4v8zm7 0h-4V3h4v18zm7 0h-4V9h4v12z"),
    ("drops", "/drops", "M12 2C8 7 6 10.5 6 14a6 6 0 0 0 12 0c0-3.5-2-7-6-12zm0 16a4 4 0 0 1-4-4h2a2 2 0 0 0 2 2v2z"),
    ("livecodes", "/livecodes", "M3 3h8v8H3V3zm2 2v4h4V5H5zm8-2h8v8h-8V3zm2 2v4h4V5h-4zM3 13h8v8H3v-8zm2 2v4h4v-4H5zm8-2h3v3h-3v-3zm5 0h3v3h-3v-3zm-5 5h3v3h-3v-3zm5 0h3v3h-3v-3z"),
    ("flash", "/flash", "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 5v5.4l3.3 3.3-1.4 1.4L11 13.2V7h2z"),
    ("races", "/races", "M6 2h12v3h3v3a5 5 0 0 1-5 5h-.3A5 5 0 0 1 13 15.9V18h3v3H8v-3h3v-2.1A5 5 0 0 1 8.3 13H8a5 5 0 0 1-5-5V5h3V2zm0 5H5v1a3 3 0 0 0 1 2.2V7zm12 0v3.2A3 3 0 0 0 19 8V7h-1z"),
    ("offers", "/offers", "M13 2 3 14h7l-1 8 10-12h-7l1-8z"),
    ("posters", "/posters", "M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm0 2v10l4-4 3 3 4-5 3 4V5H5zm3 1.5a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z"),
    ("banlist", "/banlist", "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM4 12a8 8 0 0 1 12.9-6.3L5.7 16.9A8 8 0 0 1 4 12zm8 8a8 8 0 0 1-4.9-1.7L18.3 7.1A8 8 0 0 1 12 20z"),
    ("analytics", "/analytics", "M4 20h16v-2H4v2zm1-4h3V9H5v7zm5 0h3V4h-3v12zm5 0h3v-5h-3v5z"),
    ("audit", "/audit", "M4 4h16v2H4V4zm0 5h16v2H4V9zm0 5h10v2H4v-2zm0 5h10v2H4v-2z"),
    ("settings", "/settings", "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm9 4-2.1-.7-.6-1.5 1-2-1.4-1.4-2 1-1.5-.6L14 4h-4l-.7 2.1-1.5.6-2-1-1.4 1.4 1 2-.6 1.5L2 12v2l2.1.7.6 1.5-1 2 1.4 1.4 2-1 1.5.6L10 22h4l.7-2.1 1.5-.6 2 1 1.4-1.4-1-2 .6-1.5L21 14v-2z"),
];

/// A card with a heading.
pub fn section(title: &str, body: Markup) -> Markup {
    html! { section.card { h2 { (title) } (body) } }
}

/// A flash message (success or error) at the top of a page.
pub fn flash_notice(kind: &str, text: &str) -> Markup {
    let role = if kind == "error" { "alert" } else { "status" };
    html! { p class={ "notice " (kind) } role=(role) { (text) } }
}

/// A small coloured label.
pub fn tag(kind: &str, text: &str) -> Markup {
    html! { span class={ "pill " (kind) } { (text) } }
}

/// A `<select>` of `(value, label)` with `selected` chosen; `blank` adds an empty first option.
pub fn select_box(
    name: &str,
    id: &str,
    options: &[(String, String)],
    selected: &str,
    blank: Option<&str>,
) -> Markup {
    html! {
        select name=(name) id=(id) {
            @if let Some(label) = blank { option value="" { (label) } }
            @for (value, label) in options {
                option value=(value) selected[value == selected] { (label) }
            }
        }
    }
}

/// An empty-state row for a table of `columns` columns.
pub fn none_row(lang: Lang, columns: usize) -> Markup {
    html! { tr { td.empty colspan=(columns) { (lang.t("common.none")) } } }
}

/// Links to the previous and next page of a list (`link` gives a page's address), shown only
/// when there is more than one page.
pub fn pager(
    shell: &Shell,
    current: usize,
    pages: usize,
    link: impl Fn(usize) -> String,
) -> Markup {
    html! {
        @if pages > 1 {
            nav.pager aria-label=(shell.t("common.pages")) {
                @if current > 1 { a.btn href=(link(current - 1)) rel="prev" { "← " (shell.t("common.prev")) } }
                span.muted data-page=(current) { (current) " / " (pages) }
                @if current < pages { a.btn href=(link(current + 1)) rel="next" { (shell.t("common.next")) " →" } }
            }
        }
    }
}

/// Inline SVG a chart function in [`crate::svg`] built (its labels go through [`esc`] there).
pub fn svg(built: String) -> Markup {
    PreEscaped(built)
}

// --- format-string helpers, kept for pages not yet moved to maud (settings, login, sop) ------

/// A page without the signed-in shell (sign-in, errors before sign-in).
pub fn bare_page(lang: Lang, title: &str, body: &str) -> String {
    bare_page_with_head(lang, title, "", body)
}

/// A bare page with more in its head (`head` is already HTML: a refresh while the bot works).
pub fn bare_page_with_head(lang: Lang, title: &str, head: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">{head}
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
