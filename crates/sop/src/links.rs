//! Tracked links: http(s) links in a post become `{base}/l/{code}` so clicks count per push.
//!
//! Codes are derived from the occurrence key and the URL, so re-planning or re-sending the same
//! post yields the same codes (the link store keeps the first) and two pushes never share one.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of generated codes: 62^8 ≈ 2·10^14 codes, collisions are negligible per workspace.
pub const CODE_LENGTH: usize = 8;

/// A deterministic 8-character base62 code for `url` in the post `occurrence_key`.
///
/// FNV-1a (64 bit) is written out here rather than taken from `std`'s hasher, whose output may
/// change between Rust releases and would silently change every code.
pub fn link_code(occurrence_key: &str, url: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in occurrence_key.bytes().chain([0u8]).chain(url.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // A final avalanche (from SplitMix64) so nearby inputs do not share leading digits.
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    let mut code = String::with_capacity(CODE_LENGTH);
    for _ in 0..CODE_LENGTH {
        code.push(char::from(BASE62[(hash % 62) as usize]));
        hash /= 62;
    }
    code
}

/// Rewrites every http(s) link in `text` to `{base_url}/l/{code}`; returns the new text and each
/// distinct `(code, original_url)` once, in order of first appearance.
///
/// A link ends at whitespace, at a non-ASCII character (Chinese text often runs straight on:
/// `点击https://a.cn/x领取`), or at ASCII that cannot end a URL in prose (`<>"'` and trailing
/// `.,;:!?` or an unmatched closing bracket). Links already under `base_url` are left alone.
pub fn rewrite_links(
    text: &str,
    mut make_code: impl FnMut(&str) -> String,
    base_url: &str,
) -> (String, Vec<(String, String)>) {
    let base = base_url.trim_end_matches('/');
    let mut out = String::with_capacity(text.len());
    let mut links: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    while let Some(start) = find_link_start(rest) {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        let url = &candidate[..link_length(candidate)];
        let already_tracked = !base.is_empty() && url.starts_with(base);
        if already_tracked || url.len() <= "https://".len() {
            out.push_str(url);
        } else {
            let code = match links.iter().find(|(_, original)| original == url) {
                Some((code, _)) => code.clone(),
                None => {
                    let code = make_code(url);
                    links.push((code.clone(), url.to_string()));
                    code
                }
            };
            out.push_str(base);
            out.push_str("/l/");
            out.push_str(&code);
        }
        rest = &candidate[url.len()..];
    }
    out.push_str(rest);
    (out, links)
}

fn find_link_start(text: &str) -> Option<usize> {
    let lower_match = |index: usize| {
        let tail = &text.as_bytes()[index..];
        tail.len() >= 8
            && (tail[..7].eq_ignore_ascii_case(b"http://")
                || tail[..8].eq_ignore_ascii_case(b"https://"))
    };
    text.char_indices()
        .map(|(index, _)| index)
        .find(|&index| lower_match(index))
}

fn link_length(candidate: &str) -> usize {
    let mut end = candidate
        .char_indices()
        .find(|(_, c)| {
            !c.is_ascii()
                || c.is_ascii_whitespace()
                || c.is_ascii_control()
                || matches!(c, '<' | '>' | '"' | '\'')
        })
        .map_or(candidate.len(), |(index, _)| index);
    loop {
        let url = &candidate[..end];
        let Some(last) = url.chars().last() else {
            break;
        };
        let unmatched_close = match last {
            ')' => url.matches('(').count() < url.matches(')').count(),
            ']' => url.matches('[').count() < url.matches(']').count(),
            '}' => url.matches('{').count() < url.matches('}').count(),
            _ => false,
        };
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?') || unmatched_close {
            end -= 1;
        } else {
            break;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(text: &str) -> (String, Vec<(String, String)>) {
        let mut counter = 0;
        rewrite_links(
            text,
            |_| {
                counter += 1;
                format!("c{counter}")
            },
            "https://q.example.com/",
        )
    }

    #[test]
    fn rewrites_links_in_chinese_prose() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "点击https://xg.zhihu.com/plugin/85cb?BIZ=ECOMMERCE快闪群",
                "点击https://q.example.com/l/c1快闪群",
                &["https://xg.zhihu.com/plugin/85cb?BIZ=ECOMMERCE"],
            ),
            (
                "菜单：http://a.cn/menu。明天见",
                "菜单：https://q.example.com/l/c1。明天见",
                &["http://a.cn/menu"],
            ),
            (
                "see (https://a.cn/x_(y)) and https://a.cn/x_(y).",
                "see (https://q.example.com/l/c1) and https://q.example.com/l/c1.",
                &["https://a.cn/x_(y)"],
            ),
            (
                "两个 https://a.cn/1 https://b.cn/2?x=1&y=2",
                "两个 https://q.example.com/l/c1 https://q.example.com/l/c2",
                &["https://a.cn/1", "https://b.cn/2?x=1&y=2"],
            ),
            (
                "已追踪 https://q.example.com/l/abc 不变, HTTPS://",
                "已追踪 https://q.example.com/l/abc 不变, HTTPS://",
                &[],
            ),
            ("没有链接", "没有链接", &[]),
        ];
        for (text, expected, urls) in cases {
            let (out, links) = rewrite(text);
            assert_eq!(&out, expected, "{text}");
            let found: Vec<&str> = links.iter().map(|(_, url)| url.as_str()).collect();
            assert_eq!(&found, urls, "{text}");
        }
    }

    #[test]
    fn codes_are_deterministic_base62_and_differ_per_post_and_url() {
        let code = link_code("sop:p:s:!a:2026-03-02T00:00:00Z", "https://a.cn/x");
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|byte| byte.is_ascii_alphanumeric()));
        assert_eq!(
            code,
            link_code("sop:p:s:!a:2026-03-02T00:00:00Z", "https://a.cn/x")
        );
        assert_ne!(
            code,
            link_code("sop:p:s:!b:2026-03-02T00:00:00Z", "https://a.cn/x")
        );
        assert_ne!(
            code,
            link_code("sop:p:s:!a:2026-03-02T00:00:00Z", "https://a.cn/y")
        );
        let key = "sop:p:s:!a:2026-03-02T00:00:00Z";
        let (text, links) = rewrite_links(
            "买 https://a.cn/x",
            |url| link_code(key, url),
            "https://q.cn",
        );
        assert_eq!(text, format!("买 https://q.cn/l/{code}"));
        assert_eq!(links, vec![(code, "https://a.cn/x".to_string())]);
    }
}
