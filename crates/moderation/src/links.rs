//! Links: the hosts a message points to, from the connector's list and from the text itself.
//!
//! Connectors report the links they parsed, but spam often carries bare `www.` addresses the
//! platform does not linkify, so the text is scanned too (cheaply: only when it has `://` or
//! `www.`).

/// Calls `found` with each host (lower-case, no port, no trailing dot) until it returns true;
/// returns whether it did. Allocates only for hosts with upper-case letters.
pub(crate) fn any_host(links: &[String], text: &str, mut found: impl FnMut(&str) -> bool) -> bool {
    for link in links {
        if let Some(host) = host_of(link) {
            if check_host(host, &mut found) {
                return true;
            }
        }
    }
    if !text.contains("://") && !text.contains("www.") && !text.contains("WWW.") {
        return false;
    }
    let mut rest = text;
    while let Some(index) = find_link_start(rest) {
        let candidate = &rest[index..];
        if let Some(host) = host_of(candidate) {
            if check_host(host, &mut found) {
                return true;
            }
        }
        rest = &candidate[candidate
            .find(|c: char| c.is_whitespace())
            .unwrap_or(candidate.len())..];
    }
    false
}

fn check_host(host: &str, found: &mut impl FnMut(&str) -> bool) -> bool {
    if host.bytes().any(|byte| byte.is_ascii_uppercase()) {
        found(&host.to_ascii_lowercase())
    } else {
        found(host)
    }
}

/// Where the next `scheme://` or `www.` starts in `text`.
fn find_link_start(text: &str) -> Option<usize> {
    let scheme = text.find("://").map(|colon| {
        let before = &text[..colon];
        before
            .rfind(|c: char| !c.is_ascii_alphanumeric())
            .map_or(0, |index| index + 1)
    });
    let www = ["www.", "WWW."]
        .iter()
        .filter_map(|prefix| text.find(prefix))
        .min();
    match (scheme, www) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The host of a URL-ish string: after `scheme://` and any `user@`, before the path or port.
pub(crate) fn host_of(link: &str) -> Option<&str> {
    let after_scheme = match link.find("://") {
        Some(index)
            if link[..index]
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric()) =>
        {
            &link[index + 3..]
        }
        _ => link,
    };
    let end = after_scheme
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@' | ':' | '_')))
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host).trim_end_matches('.');
    if host.contains('.') {
        Some(host)
    } else {
        None
    }
}

/// Whether `host` is one of `allow` or a subdomain of one.
pub(crate) fn allowed(host: &str, allow: &[String]) -> bool {
    allow.iter().any(|domain| {
        host == domain
            || (host.len() > domain.len()
                && host.ends_with(domain.as_str())
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(links: &[&str], text: &str) -> Vec<String> {
        let links: Vec<String> = links.iter().map(|link| link.to_string()).collect();
        let mut out = Vec::new();
        any_host(&links, text, |host| {
            out.push(host.to_string());
            false
        });
        out
    }

    #[test]
    fn finds_hosts_in_links_and_text() {
        assert_eq!(
            hosts(&["https://Shop.Example.com/a?b"], ""),
            ["shop.example.com"]
        );
        assert_eq!(hosts(&[], "快来 http://spam.cn:8080/x 领取"), ["spam.cn"]);
        assert_eq!(
            hosts(&[], "看这里www.fake.com/abc 还有 https://u:p@b.org"),
            ["www.fake.com", "b.org"]
        );
        assert_eq!(hosts(&[], "没有链接的消息"), Vec::<String>::new());
        assert_eq!(hosts(&[], "ftp:// 不是"), Vec::<String>::new());
    }

    #[test]
    fn allow_list_covers_subdomains_only() {
        let allow = vec!["brand.cn".to_string()];
        let cases = [
            ("brand.cn", true),
            ("shop.brand.cn", true),
            ("evilbrand.cn", false),
            ("brand.cn.evil.com", false),
        ];
        for (host, expected) in cases {
            assert_eq!(allowed(host, &allow), expected, "{host}");
        }
    }
}
