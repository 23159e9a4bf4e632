//! The OpenAPI 3 document, built from one table of every API route.
//!
//! The same table drives the authorization tests (each route's role and workspace scoping), and
//! `tests/openapi.rs` checks the served document against the real router both ways (each
//! documented operation is routed; each route the files in `src/api` add is documented), so a route
//! cannot be added without being documented and tested.

use axum::Json;
use serde_json::{json, Map, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any signed-in role, viewers included.
    Read,
    /// Operators, admins and owners.
    Edit,
    /// Admins and owners.
    Admin,
}

/// One API route: method, path under `/api/v1`, summary, tag, access.
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub access: Access,
}

macro_rules! routes {
    ($(($method:literal, $path:literal, $tag:literal, $access:ident, $summary:literal)),+ $(,)?) => {
        &[$(RouteDoc { method: $method, path: $path, summary: $summary, tag: $tag, access: Access::$access }),+]
    };
}

pub static ROUTES: &[RouteDoc] = routes![
    ("get", "/openapi.json", "meta", Public, "This document"),
    ("post", "/session", "session", Public, "Sign in with login and password; sets the session cookie and answers the CSRF token"),
    ("delete", "/session", "session", Read, "Sign out"),
    ("get", "/me", "session", Read, "Who the caller is: workspace, role, CSRF token"),
    ("get", "/overview", "community", Read, "Workspace totals per local day (members, joins, leaves, speakers, messages, moderation actions, posts sent)"),
    ("get", "/groups", "community", Read, "Groups with size, 14-day message series and health"),
    ("get", "/group-table", "community", Read, "The group table: per group today / 7 / 30 days (members, net, joins, left vs removed, speakers and share, messages, check-ins, link clicks), capacity and health; q, type, tag, status, period, sort, dir as on /groups"),
    ("get", "/groups/{id}", "community", Read, "One group"),
    ("patch", "/groups/{id}", "community", Edit, "Edit a group's name, type, status, capacity, tags or positioning"),
    ("get", "/groups/{id}/events", "community", Read, "A group's recent events, newest first"),
    ("get", "/groups/{id}/days", "community", Read, "A group's daily counts"),
    ("get", "/members", "community", Read, "Search members by text, tag, tier, role, group, activity"),
    ("get", "/member-page", "community", Read, "Members with the total, sorted (sort: last_spoke, messages, checkins, clicks, joined) and paged (page, 50 a page); bots and members gone from every group only with bots=1, gone=1"),
    ("get", "/members/{platform}/{user}", "community", Read, "One member with recent history"),
    ("patch", "/members/{platform}/{user}", "community", Edit, "Edit a member's role, tier or tags"),
    ("get", "/rules", "rules", Read, "Rule files"),
    ("post", "/rules/validate", "rules", Read, "Check a rule file without saving it"),
    ("get", "/rules/{name}", "rules", Read, "One rule file"),
    ("put", "/rules/{name}", "rules", Edit, "Create or replace a rule file (checked first; the engine reloads it)"),
    ("delete", "/rules/{name}", "rules", Edit, "Delete a rule file"),
    ("get", "/plans", "sop", Read, "SOP plans"),
    ("post", "/plans/validate", "sop", Read, "Check an SOP plan without saving it"),
    ("get", "/plans/{name}", "sop", Read, "One SOP plan"),
    ("put", "/plans/{name}", "sop", Edit, "Create or replace an SOP plan (checked first; the engine reloads it)"),
    ("delete", "/plans/{name}", "sop", Edit, "Delete an SOP plan"),
    ("get", "/plans/{name}/calendar", "sop", Read, "Upcoming posts of one plan"),
    ("get", "/calendar", "sop", Read, "Upcoming posts of every plan, optionally for one group"),
    ("get", "/templates", "sop", Read, "Shipped SOP templates"),
    ("post", "/templates/{id}/apply", "sop", Edit, "Save a template as a plan targeting chosen groups"),
    ("get", "/join-requests", "moderation", Read, "Pending join requests, oldest first"),
    ("post", "/join-requests/decide", "moderation", Edit, "Approve or deny a join request (queued for the bot)"),
    ("get", "/moderation/actions", "moderation", Read, "Actions the bot's rules decided"),
    ("post", "/moderation/actions/{id}/undo", "moderation", Edit, "Undo a bot ban or mute (queued for the bot)"),
    ("get", "/moderation/lurkers", "moderation", Read, "Members silent for more than N days"),
    ("get", "/moderation/lurker-reports", "moderation", Read, "Dry-run lurker removals of the last 7 days' reports, waiting for confirmation"),
    ("post", "/groups/{id}/lurkers/confirm", "moderation", Edit, "确认移出: turn a group's dry-run lurker report into removals (queued once per reported member)"),
    ("get", "/tasks", "sop", Read, "Posts a person must make, oldest due first"),
    ("post", "/tasks/{id}/confirm", "sop", Edit, "Confirm a person task was sent"),
    ("get", "/actions", "record", Read, "The outbox: every action the bot took or will take"),
    ("get", "/audit", "record", Read, "Changes made by people, newest first"),
    ("get", "/connectors", "engine", Read, "Each connector's state: connected, last successful poll, backlog of pending actions, last error with its time"),
    ("get", "/ledger/leaders", "ledger", Read, "Members with the most points, highest first"),
    ("get", "/ledger/members/{platform}/{user}", "ledger", Read, "A member's points balance and ledger entries, newest first"),
    ("post", "/ledger/members/{platform}/{user}/adjust", "ledger", Edit, "Grant (positive) or deduct (negative) points by hand; once per request id"),
    ("post", "/ledger/entries/{key}/reverse", "ledger", Edit, "Undo a ledger entry with a new entry; each entry is reversed at most once"),
    ("get", "/rewards", "ledger", Read, "The reward catalogue: cost in points, stock, whether offered"),
    ("put", "/rewards/{code}", "ledger", Edit, "Add or change a reward"),
    ("post", "/rewards/{code}/redeem", "ledger", Edit, "Spend a member's points on a reward (the shop calls this with the member and its order id; once per id)"),
    ("get", "/coupons/members/{platform}/{user}", "coupons", Read, "A member's coupons, newest first"),
    ("post", "/coupons/members/{platform}/{user}", "coupons", Edit, "Issue a coupon (amount off, percent off, free item) bound to this member; once per request id"),
    ("post", "/coupons/{code}/redeem", "coupons", Edit, "Redeem a coupon for its member (the shop calls this with the code, the member and its order id)"),
    ("get", "/invites/counts", "invites", Read, "Invites per inviter (everyone brought, still present), optionally for one group (chat) or campaign"),
    ("get", "/invites/members/{platform}/{user}", "invites", Read, "Everyone a member brought, with how and whether they are still there"),
    ("post", "/invites/members/{platform}/{user}/code", "invites", Edit, "A new personal invite code for a member, optionally for a campaign"),
    ("get", "/analytics/days", "analytics", Read, "Daily rollups per group (members at day end, joins by channel, left vs removed, speakers, messages, check-ins, invites, orders, revenue), filtered by group and days, paged"),
    ("get", "/analytics/days.csv", "analytics", Read, "The same daily rollups as CSV"),
    ("get", "/analytics/funnel", "analytics", Read, "The AARRR funnel of acquired members, filtered by group, channel, campaign and join days, optionally broken down (by) and with its own windows"),
    ("get", "/analytics/cohorts", "analytics", Read, "Retention cohorts by join week (the triangle), filtered like the funnel"),
    ("get", "/analytics/cohorts.csv", "analytics", Read, "The retention triangle as CSV"),
    ("get", "/analytics/cohorts/members", "analytics", Read, "The members behind one cohort cell (join week, week k after joining), paged"),
    ("get", "/analytics/groups", "analytics", Read, "Every active group's 30-day trend with a health score (0-100), sickest first; dying=true keeps the dying ones, each with a suggested fate"),
    ("post", "/groups/{id}/fate", "analytics", Edit, "Apply a decision on a dying group in one step: reactivate (posts the topic text), merge (posts a notice naming the group `into`, archives) or dissolve (posts a notice, dissolves); keyed by `request`"),
    ("get", "/tokens", "admin", Admin, "API tokens of the workspace"),
    ("post", "/tokens", "admin", Admin, "Create an API token; the secret is answered once"),
    ("delete", "/tokens/{id}", "admin", Admin, "Revoke an API token"),
    ("get", "/users", "admin", Admin, "Console users of the workspace"),
    ("post", "/users", "admin", Admin, "Add a console user"),
    ("delete", "/users/{login}", "admin", Admin, "Delete a console user and their sessions (not yourself, not the last owner)"),
    ("post", "/users/{login}/disable", "admin", Admin, "Disable a console user: their sessions end and they cannot sign in"),
    ("post", "/users/{login}/enable", "admin", Admin, "Let a disabled console user sign in again"),
    ("put", "/users/{login}/password", "admin", Admin, "Set a console user's password; their sessions end"),
    ("post", "/users/{login}/revoke-sessions", "admin", Admin, "End every console session of a user"),
];

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": { "type": "string", "enum": ["unauthorized", "forbidden", "not_found", "invalid_input", "conflict", "rate_limited", "payload_too_large", "csrf_failed", "unavailable", "internal"] },
                "message": { "type": "string" },
                "field": { "type": "string", "description": "The input field or `source:LINE:COL` the error is about" }
            }
        }}
    })
}

/// The whole document, for `/api/v1/openapi.json`.
pub fn build() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut operation = json!({
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": format!("{}{}", route.method, route.path.replace(['/', '{', '}', '.', '-'], "_")),
            "responses": {
                "200": { "description": "OK", "content": { "application/json": {} } },
                "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        if route.access == Access::Public {
            operation["security"] = json!([]);
        }
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !parameters.is_empty() {
            operation["parameters"] = json!(parameters);
        }
        if matches!(route.method, "post" | "put" | "patch") {
            operation["requestBody"] =
                json!({ "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let item = paths.entry(route.path).or_insert_with(|| json!({}));
        item[route.method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "qunzhu API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Everything the qunzhu console does. Authenticate with `Authorization: Bearer <token>` (tokens are scoped to one workspace) or the console's session cookie plus `X-CSRF-Token` on mutating calls. Viewers may only read."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "bearer": [] }, { "session": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE }
            },
            "schemas": { "Error": error_schema() }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
