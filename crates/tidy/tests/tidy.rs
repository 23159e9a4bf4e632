//! Tidy checks over the whole source tree: every `.rs` file opens with a `//!` line, the
//! architecture's "never" edges hold in every crate's normal and dev dependencies, every console
//! word a page asks for exists in both languages, and every crate states the workspace's
//! `rust-version`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/tidy`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc_line() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    assert!(files.len() > 100, "found only {} files", files.len());
    let bare: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = fs::read_to_string(file).expect("read");
            !text.starts_with("//!")
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        bare.is_empty(),
        "these files do not start with a `//!` line saying what they are:\n{}",
        bare.join("\n")
    );
}

/// Crates that do IO or speak a wire format, which the pure crates never depend on.
const IO_CRATES: &[&str] = &[
    "tokio",
    "reqwest",
    "hyper",
    "axum",
    "rusqlite",
    "tokio-postgres",
    "tempfile",
    "qunzhu-storage",
    "qunzhu-storage-sqlite",
    "qunzhu-storage-postgres",
    "qunzhu-storage-conformance",
    "qunzhu-engine",
    "qunzhu-ops",
    "qunzhu-server",
    "qunzhu-matrix",
    "qunzhu-telegram",
    "qunzhu-wecom",
    "qunzhu-sandbox",
];
const BACKENDS: &[&str] = &["qunzhu-storage-sqlite", "qunzhu-storage-postgres"];
const SQL_DRIVERS: &[&str] = &["rusqlite", "tokio-postgres"];
const CONNECTORS: &[&str] = &["qunzhu-matrix", "qunzhu-telegram", "qunzhu-wecom"];

/// Which dependency tables a rule reads.
#[derive(Clone, Copy, Debug)]
enum Tables {
    Normal,
    NormalAndDev,
}

/// One "never" edge from ARCHITECTURE.md's invariants: `crates` never depend on `forbidden`.
struct Rule {
    why: &'static str,
    crates: &'static [&'static str],
    forbidden: &'static [&'static str],
    tables: Tables,
}

const RULES: &[Rule] = &[
    Rule {
        why: "the domain crate and the decision crates do no IO and know no SQL, HTTP or platform wire format",
        crates: &["domain", "moderation", "sop", "growth"],
        forbidden: IO_CRATES,
        tables: Tables::NormalAndDev,
    },
    Rule {
        why: "connectors never touch storage (the WeCom task follower reads the outbox through the trait, never a backend)",
        crates: &["matrix", "telegram", "wecom", "connector"],
        forbidden: BACKENDS,
        tables: Tables::Normal,
    },
    Rule {
        why: "connectors never touch storage: only the WeCom task follower reads the outbox",
        crates: &["matrix", "telegram", "connector"],
        forbidden: &["qunzhu-storage"],
        tables: Tables::Normal,
    },
    Rule {
        why: "the engine never branches on a platform's name: it knows connectors only through the trait",
        crates: &["engine"],
        forbidden: CONNECTORS,
        tables: Tables::Normal,
    },
    Rule {
        why: "only the storage backends know SQL",
        crates: &["domain", "connector", "storage", "engine", "moderation", "sop", "ops", "server", "matrix", "telegram", "wecom"],
        forbidden: SQL_DRIVERS,
        tables: Tables::Normal,
    },
    Rule {
        why: "no door changes anything except through qunzhu-ops: the console and API reach no backend",
        crates: &["server", "ops"],
        forbidden: BACKENDS,
        tables: Tables::Normal,
    },
    Rule {
        why: "the domain crate is the bottom of the graph",
        crates: &["domain"],
        forbidden: &["qunzhu-connector", "qunzhu-moderation", "qunzhu-sop"],
        tables: Tables::NormalAndDev,
    },
    Rule {
        why: "the storage library ships no test support: proptest and the conformance suite stay out of it",
        crates: &["storage"],
        forbidden: &["proptest", "qunzhu-storage-conformance"],
        tables: Tables::Normal,
    },
    Rule {
        why: "the conformance suite and the service gates are test support, a dev-dependency only",
        crates: &["storage-sqlite", "storage-postgres", "engine", "ops", "server", "matrix", "telegram", "wecom", "sandbox", "qunzhu"],
        forbidden: &["qunzhu-storage-conformance"],
        tables: Tables::Normal,
    },
];

fn manifest(name: &str) -> toml::Table {
    let path = root().join("crates").join(name).join("Cargo.toml");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The dependency names of one table (`dependencies`, `dev-dependencies`), `package =` renames
/// resolved.
fn dependencies(manifest: &toml::Table, table: &str) -> BTreeSet<String> {
    let Some(table) = manifest.get(table).and_then(|t| t.as_table()) else {
        return BTreeSet::new();
    };
    table
        .iter()
        .map(|(name, spec)| {
            spec.get("package")
                .and_then(|p| p.as_str())
                .unwrap_or(name)
                .to_string()
        })
        .collect()
}

fn violations(rules: &[Rule], manifest: impl Fn(&str) -> toml::Table) -> Vec<String> {
    let mut found = Vec::new();
    for rule in rules {
        let tables: &[&str] = match rule.tables {
            Tables::Normal => &["dependencies"],
            Tables::NormalAndDev => &["dependencies", "dev-dependencies"],
        };
        for name in rule.crates {
            let manifest = manifest(name);
            for table in tables {
                for dep in dependencies(&manifest, table) {
                    if rule.forbidden.contains(&dep.as_str()) {
                        found.push(format!(
                            "crates/{name}/Cargo.toml [{table}] {dep}: {}",
                            rule.why
                        ));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn the_architectures_never_edges_hold_in_normal_and_dev_dependencies() {
    let found = violations(RULES, manifest);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_forbidden_edge_is_found_in_either_table() {
    let fake = |text: &'static str| move |_: &str| text.parse::<toml::Table>().expect("toml");
    let normal = fake("[dependencies]\ntokio.workspace = true\n");
    let dev = fake("[dev-dependencies]\nwire = { package = \"reqwest\", version = \"1\" }\n");
    let clean = fake("[dependencies]\nserde = \"1\"\n[dev-dependencies]\nproptest = \"1\"\n");
    let pure = &RULES[..1];
    // One violation per crate the first rule names.
    let crates = pure[0].crates.len();
    assert_eq!(violations(pure, normal).len(), crates);
    assert_eq!(violations(pure, dev).len(), crates);
    assert!(violations(pure, clean).is_empty());
    // Dev-dependencies are allowed where the rule says so.
    let backend = fake("[dev-dependencies]\nqunzhu-storage-sqlite.workspace = true\n");
    assert!(violations(&RULES[1..2], backend).is_empty());
}

#[test]
fn every_crate_inherits_the_workspace_rust_version() {
    let root = root();
    let workspace: toml::Table = fs::read_to_string(root.join("Cargo.toml"))
        .expect("workspace manifest")
        .parse()
        .expect("workspace toml");
    let version = workspace["workspace"]["package"]["rust-version"]
        .as_str()
        .expect("[workspace.package] rust-version");
    assert!(version.starts_with("1."), "{version}");
    let mut missing = Vec::new();
    for entry in fs::read_dir(root.join("crates")).expect("crates") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8");
        let manifest = manifest(&name);
        let inherited = manifest["package"]
            .get("rust-version")
            .and_then(|v| v.get("workspace"))
            .and_then(|v| v.as_bool());
        if inherited != Some(true) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "crates without `rust-version.workspace = true`: {missing:?}"
    );
}

/// The string literals of `text` in order, escapes left as written (keys and words have none
/// that matter here). Raw strings and char literals are not string literals for this purpose.
fn string_literals(text: &str) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'r' if (bytes.get(i + 1) == Some(&b'#') || bytes.get(i + 1) == Some(&b'"'))
                && !text[..i]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_') =>
            {
                // A raw string r#"…"#: skipped whole, so its quotes do not desynchronize the scan.
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                let open = i + 1 + hashes;
                if bytes.get(open) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                i = text[open + 1..]
                    .find(&close)
                    .map_or(bytes.len(), |end| open + 1 + end + close.len());
            }
            b'\'' => {
                // A char literal ('"' or '\'') or a lifetime; skip a quoted char whole.
                if bytes.get(i + 2) == Some(&b'\'') {
                    i += 3;
                    continue;
                } else if bytes.get(i + 1) == Some(&b'\\') {
                    if let Some(end) = text[i + 2..].find('\'') {
                        i += end + 3;
                        continue;
                    }
                }
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                out.push((start - 1, text[start..i.min(text.len())].to_string()));
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// `(key, 中文, English)` rows of the console's `TABLE`.
fn i18n_table(source: &str) -> Vec<(String, String, String)> {
    let start = source.find("pub static TABLE").expect("TABLE in i18n.rs");
    let body = &source[start..];
    let end = body.find("\n];").expect("end of TABLE");
    let strings: Vec<String> = string_literals(&body[..end])
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(strings.len() % 3, 0, "TABLE rows are (key, zh, en)");
    strings
        .chunks(3)
        .map(|row| (row[0].clone(), row[1].clone(), row[2].clone()))
        .collect()
}

fn is_key_shaped(text: &str) -> bool {
    let mut parts = text.split('.');
    let ident = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    parts.next().is_some_and(ident) && text.contains('.') && parts.all(ident)
}

/// Keys the console asks for in `source`: every `t("…")` argument, and (with `shaped`) every
/// key-shaped literal with a prefix the table uses (pages pass keys around in tables and match
/// arms; the server's tests are read for calls only, as their literals name audit actions too).
fn used_keys(source: &str, prefixes: &BTreeSet<String>, shaped: bool) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for (at, literal) in string_literals(source) {
        let called = source[..at].ends_with("t(")
            && !source[..at - 2]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let shaped = shaped
            && is_key_shaped(&literal)
            && prefixes.contains(literal.split('.').next().unwrap_or_default());
        if called || shaped {
            keys.insert(literal);
        }
    }
    keys
}

#[test]
fn every_console_word_used_exists_in_both_languages() {
    let server = root().join("crates/server/src");
    let table = i18n_table(&fs::read_to_string(server.join("i18n.rs")).expect("i18n.rs"));
    assert!(table.len() > 100, "read only {} rows", table.len());
    let mut problems = Vec::new();
    let mut known = BTreeSet::new();
    for (key, zh, en) in &table {
        if zh.is_empty() || en.is_empty() {
            problems.push(format!("`{key}` is untranslated"));
        }
        if !known.insert(key.clone()) {
            problems.push(format!("`{key}` is in the table twice"));
        }
    }
    let prefixes: BTreeSet<String> = known
        .iter()
        .filter_map(|k| k.split('.').next())
        .map(String::from)
        .collect();
    let mut files = Vec::new();
    rust_files(&server, &mut files);
    files.sort();
    let mut used = 0;
    for file in files.iter().filter(|f| !f.ends_with("i18n.rs")) {
        let source = fs::read_to_string(file).expect("read");
        let in_tests = file.starts_with(server.join("tests"));
        for key in used_keys(&source, &prefixes, !in_tests) {
            used += 1;
            if !known.contains(&key) {
                problems.push(format!("{}: `{key}` is not in i18n.rs", file.display()));
            }
        }
    }
    assert!(used > 100, "found only {used} uses");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A key family the console builds at run time (`t(&format!("act.{}", kind.name()))`): its
/// prefix, and where the names come from: the block of `file` that starts at the last of
/// `markers` and ends at `end`, whose snake_case literals are the names.
struct Family {
    prefix: &'static str,
    file: &'static str,
    markers: &'static [&'static str],
    end: &'static str,
}

const FN_END: &str = "\n    }\n";
const ENUM_END: &str = "\n}";

const FAMILIES: &[Family] = &[
    Family {
        prefix: "stage",
        file: "crates/domain/src/funnel.rs",
        markers: &["    FunnelStage {"],
        end: ENUM_END,
    },
    Family {
        prefix: "chan",
        file: "crates/domain/src/invite.rs",
        markers: &["    InviteChannel {"],
        end: ENUM_END,
    },
    Family {
        prefix: "act",
        file: "crates/domain/src/action.rs",
        markers: &["impl ActionKind {", "pub fn name("],
        end: FN_END,
    },
    Family {
        prefix: "st",
        file: "crates/domain/src/action.rs",
        markers: &["impl ActionStatus {", "pub fn as_str("],
        end: FN_END,
    },
    Family {
        prefix: "ev",
        file: "crates/domain/src/event.rs",
        markers: &["impl EventKind {", "pub fn name("],
        end: FN_END,
    },
    Family {
        prefix: "gtype",
        file: "crates/domain/src/model.rs",
        markers: &["    GroupType {"],
        end: ENUM_END,
    },
    Family {
        prefix: "gstatus",
        file: "crates/domain/src/model.rs",
        markers: &["    GroupStatus {"],
        end: ENUM_END,
    },
    Family {
        prefix: "role",
        file: "crates/domain/src/model.rs",
        markers: &["    MemberRole {"],
        end: ENUM_END,
    },
    Family {
        prefix: "fate",
        file: "crates/domain/src/fate.rs",
        markers: &["    GroupFate {"],
        end: ENUM_END,
    },
    Family {
        prefix: "tier",
        file: "crates/domain/src/model.rs",
        markers: &["    MemberTier {"],
        end: ENUM_END,
    },
    Family {
        prefix: "urole",
        file: "crates/storage/src/accounts.rs",
        markers: &["impl UserRole {", "pub fn as_str("],
        end: FN_END,
    },
    Family {
        prefix: "class",
        file: "crates/server/src/classify.rs",
        markers: &["impl ActionClass {", "pub fn as_str("],
        end: FN_END,
    },
    Family {
        prefix: "period",
        file: "crates/server/src/group_table.rs",
        markers: &["impl Period {", "pub fn as_str("],
        end: FN_END,
    },
    Family {
        prefix: "health",
        file: "crates/server/src/group_table.rs",
        markers: &["impl Health {", "pub fn as_str("],
        end: FN_END,
    },
    Family {
        prefix: "msort",
        file: "crates/storage/src/reports.rs",
        markers: &["impl MemberSort {", "pub fn as_str("],
        end: FN_END,
    },
    Family {
        prefix: "flash.stage",
        file: "crates/growth/src/flash.rs",
        markers: &["impl Stage {", "pub fn as_str("],
        end: FN_END,
    },
    Family {
        prefix: "nav",
        file: "crates/server/src/html.rs",
        markers: &["const NAV"],
        end: "\n];",
    },
];

/// The names of one family, read from its source block.
fn family_names(family: &Family, source: &str) -> Vec<String> {
    let mut at = 0;
    for marker in family.markers {
        at += source[at..]
            .find(marker)
            .unwrap_or_else(|| panic!("{}: `{marker}` not found", family.file));
    }
    let block = &source[at..];
    let block = &block[..block.find(family.end).unwrap_or(block.len())];
    string_literals(block)
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .collect()
}

/// Prefixes of keys built at run time: `t(&format!("prefix.{…}"…))`, and the prefixes handed to
/// the members page's `options(shell, ALL, "prefix", as_str)`, which builds `{prefix}.{name}`.
fn dynamic_prefixes(source: &str) -> BTreeSet<String> {
    let literals = string_literals(source);
    let mut prefixes = BTreeSet::new();
    for (at, literal) in &literals {
        if !source[..*at].ends_with("t(&format!(") {
            continue;
        }
        let Some((prefix, rest)) = literal.split_once('.') else {
            continue;
        };
        if !rest.starts_with('{') {
            continue;
        }
        if prefix == "{prefix}" {
            // The helper's callers: the first literal after each `options(shell,`.
            for (call, _) in source.match_indices("options(shell,") {
                if let Some((_, given)) = literals.iter().find(|(at, _)| *at > call) {
                    prefixes.insert(given.clone());
                }
            }
        } else {
            assert!(
                !prefix.contains('{'),
                "a key built as `{literal}`: teach tidy.rs where its prefix comes from"
            );
            prefixes.insert(prefix.to_string());
        }
    }
    prefixes
}

#[test]
fn every_console_key_built_at_run_time_exists_in_both_languages() {
    let root = root();
    let table =
        i18n_table(&fs::read_to_string(root.join("crates/server/src/i18n.rs")).expect("i18n.rs"));
    let known: BTreeSet<&str> = table.iter().map(|(key, _, _)| key.as_str()).collect();
    let mut files = Vec::new();
    rust_files(&root.join("crates/server/src"), &mut files);
    let mut used = BTreeSet::new();
    for file in &files {
        used.extend(dynamic_prefixes(&fs::read_to_string(file).expect("read")));
    }
    let listed: BTreeSet<String> = FAMILIES.iter().map(|f| f.prefix.to_string()).collect();
    let unlisted: Vec<_> = used.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "keys built at run time with these prefixes have no entry in FAMILIES (say where their names come from): {unlisted:?}"
    );
    let mut missing = Vec::new();
    for family in FAMILIES {
        let names = family_names(
            family,
            &fs::read_to_string(root.join(family.file)).expect("family file"),
        );
        assert!(names.len() >= 2, "{}: read only {names:?}", family.prefix);
        for name in names {
            let key = format!("{}.{name}", family.prefix);
            if !known.contains(key.as_str()) {
                missing.push(format!("`{key}` (a name in {})", family.file));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in crates/server/src/i18n.rs:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_key_finder_sees_calls_and_key_shaped_literals() {
    let prefixes: BTreeSet<String> = ["act".to_string()].into();
    let source = r#"let a = shell.t("act.person_task"); lang.t("x y"); f("act.send"); g("nope.x"); list.t("a\"b");"#;
    assert_eq!(used_keys(source, &prefixes, false).len(), 3);
    let keys = used_keys(source, &prefixes, true);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert_eq!(keys, ["a\\\"b", "act.person_task", "act.send", "x y"]);
    let table = i18n_table(
        "pub static TABLE: &[(&str, &str, &str)] = &[\n    (\"a.b\", \"甲\", \"A\"),\n    (\n        \"a.c\",\n        \"乙\",\n        \"B 'x'\",\n    ),\n];\n",
    );
    assert_eq!(table.len(), 2);
    assert_eq!(table[1].2, "B 'x'");
}
