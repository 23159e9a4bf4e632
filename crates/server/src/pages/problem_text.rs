//! Rule-file diagnostics in the console's language: the checker words its messages in English
//! (they also go to the CLI and the API); the console shows the known shapes in Chinese, with the
//! file's own names (in backticks) carried over. A message of unknown shape is shown as it is.

use crate::i18n::Lang;

/// `(English shape, Chinese)`: `*` matches any text in the shape; `{1}`, `{2}`… are those texts.
/// More specific shapes come before the general ones they would also match.
const SHAPES: &[(&str, &str)] = &[
    (
        "unknown rule kind `*`, expected one of: *",
        "未知的规则类型 `{1}`，可选：{2}",
    ),
    (
        "`*` does not apply to rules of kind `*`",
        "`{1}` 不适用于 `{2}` 类型的规则",
    ),
    (
        "`redact` does not apply to `name_pattern` rules (there is no message)",
        "`name_pattern` 规则不能用 `redact`（没有可撤回的消息）",
    ),
    ("undefined keyword list `*`", "未定义的关键词表 `{1}`"),
    ("undefined rule `*`", "未定义的规则 `{1}`"),
    ("undefined * `*`", "未定义的 {1} `{2}`"),
    (
        "a `*` rule needs `*` or `*`",
        "`{1}` 规则需要 `{2}` 或 `{3}`",
    ),
    ("a `*` rule needs `*`", "`{1}` 规则需要 `{2}`"),
    ("duplicate rule name `*`", "规则名 `{1}` 重复"),
    ("empty keyword in list `*`", "关键词表 `{1}` 中有空关键词"),
    ("empty action in `*`", "`{1}` 中有空动作"),
    (
        "unknown action `*`, expected one of: *",
        "未知的动作 `{1}`，可选：{2}",
    ),
    (
        "action `*` takes no argument, got `*`",
        "动作 `{1}` 不带参数，却写了 `{2}`",
    ),
    ("too many words in action `*`", "动作 `{1}` 的词太多"),
    (
        "`*` must be a positive number, got *",
        "`{1}` 必须是正数，当前为 {2}",
    ),
    ("invalid regex `*`: *", "正则表达式 `{1}` 无效：{2}"),
    (
        "use either `actions` or `ladder`, not both",
        "`actions` 和 `ladder` 只能写一个",
    ),
    ("`ladder` needs at least one rung", "`ladder` 至少要有一级"),
    (
        "`escalation` is one action: *",
        "`escalation` 只能是一个动作：{1}",
    ),
    (
        "only one profile can be the default",
        "只能有一个默认 profile",
    ),
    (
        "chat `*` is already assigned to another profile",
        "群 `{1}` 已分配给另一个 profile",
    ),
    (
        "group type `*` is already assigned to another profile",
        "群类型 `{1}` 已分配给另一个 profile",
    ),
    (
        "an FAQ entry needs `keywords` or `pattern`",
        "FAQ 条目需要 `keywords` 或 `pattern`",
    ),
    ("empty FAQ keyword", "FAQ 中有空关键词"),
    (
        "FAQ `*` keywords cannot be compiled: *",
        "FAQ `{1}` 的关键词无法编译：{2}",
    ),
    (
        "unknown review decision `*`, expected one of: *",
        "未知的审核结果 `{1}`，可选：{2}",
    ),
    (
        "bad duration `*`, expected e.g. *",
        "时长 `{1}` 无法识别，应写作 {2}",
    ),
    (
        "duration `*` needs a unit (s, m, h, d, w)",
        "时长 `{1}` 缺少单位（s、m、h、d、w）",
    ),
    (
        "duration must be positive, got `*`",
        "时长必须为正，当前为 `{1}`",
    ),
    ("empty duration, expected e.g. *", "时长为空，应写作 {1}"),
    // From the TOML reader.
    (
        "unknown field `*`, expected one of *",
        "未知的键 `{1}`，可选：{2}",
    ),
    ("unknown field `*`, expected *", "未知的键 `{1}`，应为 {2}"),
    ("unknown field `*`", "未知的键 `{1}`"),
    ("missing field `*`", "缺少必填的键 `{1}`"),
    ("invalid type: *, expected *", "类型不对：{1}，应为 {2}"),
    ("duplicate key `*`", "键 `{1}` 重复"),
];

/// The texts `*` stood for, if `message` has this shape.
fn captures<'a>(shape: &str, message: &'a str) -> Option<Vec<&'a str>> {
    let pieces: Vec<&str> = shape.split('*').collect();
    let (first, rest) = pieces.split_first()?;
    let mut tail = message.strip_prefix(first)?;
    let mut out = Vec::new();
    for (index, piece) in rest.iter().enumerate() {
        let last = index == rest.len() - 1;
        let at = if last {
            // The final piece anchors the end.
            if !tail.ends_with(piece) || tail.len() < piece.len() {
                return None;
            }
            tail.len() - piece.len()
        } else if piece.is_empty() {
            return None;
        } else {
            tail.find(piece)?
        };
        out.push(&tail[..at]);
        tail = &tail[at + piece.len()..];
    }
    (rest.is_empty() && tail.is_empty() || !rest.is_empty()).then_some(out)
}

/// `message` in `lang`.
pub fn problem_text(lang: Lang, message: &str) -> String {
    if lang == Lang::En {
        return message.to_string();
    }
    for (shape, zh) in SHAPES {
        if let Some(parts) = captures(shape, message) {
            let mut text = (*zh).to_string();
            for (index, part) in parts.iter().enumerate() {
                text = text.replace(&format!("{{{}}}", index + 1), part);
            }
            return text;
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_shapes_read_in_chinese_and_keep_the_files_names() {
        for (english, chinese) in [
            (
                "unknown rule kind `keyword`, expected one of: keywords, links",
                "未知的规则类型 `keyword`，可选：keywords, links",
            ),
            ("a `flood` rule needs `count`", "`flood` 规则需要 `count`"),
            (
                "a `keywords` rule needs `lists` or `words`",
                "`keywords` 规则需要 `lists` 或 `words`",
            ),
            ("undefined welcome `none`", "未定义的 welcome `none`"),
            ("undefined keyword list `ads`", "未定义的关键词表 `ads`"),
            (
                "only one profile can be the default",
                "只能有一个默认 profile",
            ),
            (
                "`count` must be a positive number, got -1",
                "`count` 必须是正数，当前为 -1",
            ),
            (
                "unknown field `wrods`, expected one of `words`, `lists`",
                "未知的键 `wrods`，可选：`words`, `lists`",
            ),
            ("something new", "something new"),
        ] {
            assert_eq!(problem_text(Lang::Zh, english), chinese, "{english}");
            assert_eq!(problem_text(Lang::En, english), english);
        }
    }
}
