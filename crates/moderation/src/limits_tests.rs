//! Keyword lists are bounded: an oversized list or keyword is an error at its line and column,
//! and a list just within the bounds is accepted.

use crate::check;
use crate::check::{MAX_KEYWORDS_PER_LIST, MAX_KEYWORD_CHARS};

fn words(count: usize) -> String {
    (0..count)
        .map(|n| format!("\"词{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn keyword_lists_and_keywords_are_bounded() {
    let within = format!(
        "[keywords.ads]\nwords = [{}]\n[[rules]]\nname = \"ads\"\nkind = \"keywords\"\nlists = [\"ads\"]\nladder = [\"redact\"]\n",
        words(MAX_KEYWORDS_PER_LIST)
    );
    assert!(check(&within, "r.toml").is_ok());

    let over = format!(
        "[keywords.ads]\nwords = [{}]\n",
        words(MAX_KEYWORDS_PER_LIST + 50_000)
    );
    let problems = check(&over, "r.toml").expect_err("too many words");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 2);
    assert_eq!(
        problems[0].message,
        format!("keyword list `ads` has 60000 words; at most {MAX_KEYWORDS_PER_LIST}")
    );

    let long = format!(
        "[[rules]]\nname = \"spam\"\nkind = \"keywords\"\nwords = [\"ok\", \"{}\"]\nladder = [\"redact\"]\n",
        "x".repeat(MAX_KEYWORD_CHARS + 1)
    );
    let problems = check(&long, "r.toml").expect_err("a long keyword");
    assert_eq!(
        (
            problems[0].line,
            problems[0].col,
            problems[0].message.as_str()
        ),
        (
            4,
            16,
            "a keyword in the words of rule `spam` is longer than 100 characters"
        )
    );
}
