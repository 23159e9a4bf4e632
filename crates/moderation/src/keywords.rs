//! Keyword lists compiled into one Aho-Corasick automaton over normalized text.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::normalize::normalize;

/// All keyword lists folded into one automaton, so a message is scanned once whatever the
/// number of lists and rules that use them.
#[derive(Debug, Default)]
pub struct KeywordIndex {
    pub(crate) lists: Vec<String>,
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the lists it belongs to.
    pattern_lists: Vec<Vec<u32>>,
}

impl KeywordIndex {
    /// Builds the index from `(list name, words)`; words are normalized, empty ones dropped.
    pub(crate) fn build(lists: &[(String, Vec<String>)]) -> Result<KeywordIndex, String> {
        let mut pattern_of: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_lists: Vec<Vec<u32>> = Vec::new();
        for (list_index, (_, words)) in lists.iter().enumerate() {
            for word in words {
                let normalized = normalize(word);
                if normalized.is_empty() {
                    continue;
                }
                let pattern = *pattern_of.entry(normalized.clone()).or_insert_with(|| {
                    patterns.push(normalized);
                    pattern_lists.push(Vec::new());
                    patterns.len() - 1
                });
                let owners = &mut pattern_lists[pattern];
                let list_index = list_index as u32;
                if !owners.contains(&list_index) {
                    owners.push(list_index);
                }
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|error| format!("keyword lists cannot be compiled: {error}"))?,
            )
        };
        Ok(KeywordIndex {
            lists: lists.iter().map(|(name, _)| name.clone()).collect(),
            automaton,
            pattern_lists,
        })
    }

    pub(crate) fn list_index(&self, name: &str) -> Option<usize> {
        self.lists.iter().position(|list| list == name)
    }

    /// Scans `normalized` once; `hits[list]` receives the byte range of the first word found
    /// from that list. `hits` is resized and cleared here, so the caller can reuse it.
    pub(crate) fn scan(&self, normalized: &str, hits: &mut Vec<Option<(usize, usize)>>) {
        hits.clear();
        hits.resize(self.lists.len(), None);
        let Some(automaton) = &self.automaton else {
            return;
        };
        for found in automaton.find_overlapping_iter(normalized) {
            for &list in &self.pattern_lists[found.pattern().as_usize()] {
                let slot = &mut hits[list as usize];
                if slot.is_none() {
                    *slot = Some((found.start(), found.end()));
                }
            }
        }
    }

    /// The first word of any of `lists` in `normalized`, allocating (for join review, not the
    /// message hot path).
    pub(crate) fn first_hit<'t>(&self, normalized: &'t str, lists: &[usize]) -> Option<&'t str> {
        let mut hits = Vec::new();
        self.scan(normalized, &mut hits);
        lists
            .iter()
            .filter_map(|list| hits.get(*list).copied().flatten())
            .min()
            .map(|(start, end)| &normalized[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scan_reports_each_list() {
        let index = KeywordIndex::build(&[
            (
                "ads".to_string(),
                vec![
                    "加微信".to_string(),
                    "ＡＡＡ".to_string(),
                    "代 开 发 票".to_string(),
                ],
            ),
            (
                "rude".to_string(),
                vec!["傻".to_string(), "aaa".to_string()],
            ),
            ("empty".to_string(), vec![" ".to_string()]),
        ])
        .unwrap();
        let cases: [(&str, [Option<&str>; 3]); 5] = [
            ("欢迎大家", [None, None, None]),
            ("加微信领红包", [Some("加微信"), None, None]),
            ("aaa推广", [Some("aaa"), Some("aaa"), None]),
            ("可以代开发票吗", [Some("代开发票"), None, None]),
            ("你傻吧 加微信", [Some("加微信"), Some("傻"), None]),
        ];
        let mut hits = Vec::new();
        for (text, expected) in cases {
            let normalized = normalize(text);
            index.scan(&normalized, &mut hits);
            let found: Vec<Option<&str>> = hits
                .iter()
                .map(|hit| hit.map(|(s, e)| &normalized[s..e]))
                .collect();
            assert_eq!(found, expected.to_vec(), "{text}");
        }
        assert_eq!(index.first_hit("xx加微信", &[0, 1]), Some("加微信"));
    }
}
