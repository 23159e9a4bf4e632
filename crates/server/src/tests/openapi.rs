//! The OpenAPI document against the router's real routes, not against the table it was built
//! from: every documented operation is answered by the router (never the 404 fallback or a 405),
//! and every `.route(…)` in the API's source files is in the document.

use std::collections::BTreeSet;
use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::{json_request, TestApp};

/// `(method, path)` pairs, method in lower case as OpenAPI writes it.
type Operations = BTreeSet<(String, String)>;

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// The operations of a served OpenAPI document.
fn documented(doc: &Value) -> Operations {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("path item");
            item.keys()
                .filter(|method| METHODS.contains(&method.as_str()))
                .map(|method| (method.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `.route("path", get(…).post(…))` calls of one source file, as operations; a route whose
/// path is not a plain string literal, or any other way to add routes, is an error to fix here.
fn routes_in_source(file: &str, source: &str) -> Result<Operations, String> {
    for other in [".nest(", ".route_service(", ".nest_service("] {
        if source.contains(other) {
            return Err(format!(
                "{file}: `{other}` adds routes this test cannot read; extend it"
            ));
        }
    }
    let mut found = Operations::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's text: up to its matching close parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .ok_or_else(|| format!("{file}: unclosed .route("))?;
        let call = &rest[..end];
        let path = call
            .trim_start()
            .strip_prefix('"')
            .and_then(|p| p.split_once('"'))
            .map(|(path, _)| path)
            .ok_or_else(|| format!("{file}: a .route( whose path is not a literal: {call}"))?;
        let handlers = &call[call.find(',').unwrap_or(call.len())..];
        let mut methods = 0;
        for method in METHODS {
            let needle = format!("{method}(");
            // `get(` at the start of the handler list or after a `.`, not `forget(`.
            let starts = handlers.match_indices(&needle).filter(|(i, _)| {
                let before = handlers[..*i].trim_end();
                before.ends_with(',') || before.ends_with('.')
            });
            if starts.count() > 0 {
                found.insert((method.to_string(), path.to_string()));
                methods += 1;
            }
        }
        if methods == 0 {
            return Err(format!(
                "{file}: route {path} with no method this test reads"
            ));
        }
    }
    Ok(found)
}

/// Every route in `crates/server/src/api/*.rs`, read at test time so a new file counts too.
fn api_source_routes() -> Operations {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut all = Operations::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("src/api") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("read");
            let name = path.display().to_string();
            all.extend(routes_in_source(&name, &source).unwrap_or_else(|e| panic!("{e}")));
            files += 1;
        }
    }
    assert!(files >= 6, "read only {files} files in {}", dir.display());
    all
}

#[tokio::test]
async fn the_document_and_the_router_have_the_same_routes() {
    let app = TestApp::new().await;
    let doc = app
        .send(json_request(
            Method::GET,
            "/api/v1/openapi.json",
            None,
            String::new(),
        ))
        .await
        .json();
    let documented = documented(&doc);
    assert!(documented.len() > 40, "{documented:?}");

    // Every documented operation reaches a handler: without credentials a protected one says 401;
    // the fallback's 404 ("route not found") or a 405 means the router does not have it.
    for (method, path) in &documented {
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let verb = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let reply = app
            .send(json_request(
                verb,
                &format!("/api/v1{concrete}"),
                None,
                String::new(),
            ))
            .await;
        let fallback =
            reply.status == StatusCode::NOT_FOUND && reply.body.contains("route not found");
        assert!(
            !fallback && reply.status != StatusCode::METHOD_NOT_ALLOWED,
            "documented {method} {path} is not routed: {} {}",
            reply.status,
            reply.body
        );
        let secured = doc["paths"][path][method].get("security").is_none();
        if secured {
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {}",
                reply.body
            );
        }
    }

    // And the other way: the router's source has no route the document lacks.
    let in_source = api_source_routes();
    let undocumented: Vec<_> = in_source.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&in_source).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes in src/api but not in the document: {undocumented:?}; documented but not in src/api: {unrouted:?}"
    );
}

#[test]
fn routes_are_read_from_source_with_every_method() {
    let source = r#"
        Router::new()
            .route("/a", get(list).post(create))
            .route(
                "/a/{id}",
                get(one).delete(remove),
            )
            .route("/b", put(forget(x)))
            .fallback(|| async { ApiError::not_found("route") })
    "#;
    let found = routes_in_source("x.rs", source).expect("routes");
    let found: Vec<(&str, &str)> = found
        .iter()
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("delete", "/a/{id}"),
            ("get", "/a"),
            ("get", "/a/{id}"),
            ("post", "/a"),
            ("put", "/b")
        ]
    );
    assert!(routes_in_source("x.rs", "r.nest(\"/x\", other())").is_err());
    assert!(routes_in_source("x.rs", ".route(PATH, get(x))").is_err());
}
