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
    /// Owners only (phone numbers in clear).
    Owner,
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
    ("put", "/rules/{name}", "rules", Edit, "Create or replace a rule file (checked first; the engine reloads it); the answer lists `power_warnings`: per group, the steps the bot's stored powers do not allow"),
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
    ("post", "/orders", "orders", Public, "The shop's orders webhook, signed instead of authenticated: X-Qunzhu-Timestamp (Unix seconds, within 5 minutes), X-Qunzhu-Nonce (once), X-Qunzhu-Signature: sha256=HMAC-SHA256(secret, timestamp.nonce.body); body order_id, member {platform, user} or {code}, amount_cents (negative with refund_of for a refund), currency, items, coupon, link_token; an order id counts once"),
    ("get", "/orders", "orders", Read, "Orders placed on local days from..to (default the last 30), newest first, with what each is credited to (group, push, campaign, live code, inviter) and its 晒单"),
    ("get", "/campaigns/roi", "orders", Read, "Per campaign: entered costs, reward points paid out of its ledger account, attributed revenue, acquired members, ROI and cost per acquired member"),
    ("post", "/campaigns/{campaign}/costs", "orders", Edit, "Enter a cost against a campaign (amount_cents, memo); once per request id"),
    ("put", "/groups/{id}/owner", "orders", Edit, "Name the member who owns (built) a group, whom group-builder commission rules pay"),
    ("get", "/pushes", "orders", Read, "The push report (推送效果): each SOP push's status, reach, clicks, replies, orders and revenue credited to it; limit (default 200)"),
    ("get", "/commissions/statement", "orders", Read, "Commissions payable per member for orders on local days from..to (default this month so far)"),
    ("get", "/campaigns", "campaigns", Read, "Invite-task campaigns (任务宝) with their check and each inviter's counted, waiting and flagged invites"),
    ("put", "/campaigns/{name}", "campaigns", Edit, "Save a campaign document (TOML); problems are answered with source:LINE:COL"),
    ("delete", "/campaigns/{name}", "campaigns", Edit, "Delete a campaign document (its invitees and prizes stay readable)"),
    ("post", "/campaigns/apply-template", "campaigns", Edit, "Write a shipped campaign (invite_ten, join_gift_both) for these groups and window"),
    ("get", "/poster", "posters", Read, "The poster template (TOML with the six elements and the QR box); `shipped` when none was saved"),
    ("put", "/poster", "posters", Edit, "Save the poster template; a text that does not fit its box is answered with source:LINE:COL and the field"),
    ("post", "/poster/preview", "posters", Read, "Draw a template for a sample member (image/png) with the same renderer as /p/{code}.png; nothing is saved"),
    ("get", "/campaign-prizes", "campaigns", Read, "Earned prizes, newest first; state=pending is the review queue"),
    ("post", "/campaign-prizes/decide", "campaigns", Edit, "Approve a pending prize, or reject it with a reason"),
    ("get", "/lotteries", "growth", Read, "Lotteries, newest first; the seed only once drawn"),
    ("post", "/lotteries", "growth", Edit, "Open a lottery in a group: chances per invite, check-in or points spent, prize tiers (checked against the pool); the seed's SHA-256 is posted in the group; once per request id"),
    ("get", "/lotteries/{id}", "growth", Read, "One lottery: rules, prizes, commitment, and after the draw the seed, entries and winners"),
    ("get", "/lotteries/{id}/entries", "growth", Read, "Each member's chances: as drawn, or the standing now"),
    ("post", "/lotteries/{id}/chances", "growth", Edit, "Spend a member's points on chances (a multiple of the lottery's points per chance); once per request id"),
    ("post", "/lotteries/{id}/draw", "growth", Edit, "Draw a closed lottery and pay its prizes once (again: finishes an interrupted draw); refused before it closes"),
    ("get", "/drops", "growth", Read, "Point drops (红包雨) of the last 30 days and later"),
    ("post", "/drops", "growth", Edit, "Schedule a point drop in a group: the first N members who send the keyword within the window get one share each; once per request id"),
    ("get", "/livecodes", "growth", Read, "Live codes 活码 with their public link, groups' seats used against the cap, scans, seats and joins per channel, pending spare groups, and the operator alerts (a spare needed where groups cannot be created, a visitor turned away)"),
    ("put", "/livecodes/{code}", "growth", Edit, "Save a live code's document (TOML: title, platform, groups, cap, threshold, spare template); problems are answered with source:LINE:COL"),
    ("get", "/flash-groups", "growth", Read, "Flash groups 快闪群: each plan with its stage (planned, creating, created, running, closing, archiving, archived, dissolving, dissolved, stuck), its group, when it opens and closes, the long-lived group offered at the close, and how it ends (archive, or dissolve with the time its members are removed)"),
    ("put", "/flash-groups/{name}", "growth", Edit, "Save a flash plan (TOML: title, platform, opens in the workspace's zone, days 1-3, link /j/<code> or https://, closing with {link}, group name, tags, suffix, posting_level, end archive|dissolve, grace_hours 0-168 for a dissolve, default 24); problems are answered with LINE:COL and the field path"),
    ("get", "/races", "growth", Read, "Leaderboard races 比: each race with its phase (planned, running, ending, settled, finished), groups, metric, window, prizes and the winners once settled"),
    ("get", "/races/{name}", "growth", Read, "One race: its phase, the live standings since it opened (the metric now minus the baseline taken at the opening), the rank prizes, the recorded winners and the document's source"),
    ("put", "/races/{name}", "growth", Edit, "Save a race (TOML: title, platform, groups, metric invites|check_ins|points, opens and closes in the workspace's zone, post_every_minutes, shown, [[prizes]] from/to with points or coupon); problems are answered with 422, LINE:COL and the field path"),
    ("get", "/offers", "growth", Read, "秒杀 time-limited offers, newest first, each with its stock and the items left"),
    ("post", "/offers", "growth", Edit, "Create a 秒杀 from its document (TOML: title, platform, group, keyword, stock, starts, ends in the workspace's zone, countdown_minutes, points and/or coupon); problems answered with source:LINE:COL; the countdown and opening posts are queued; once per request id"),
    ("get", "/offers/{id}", "growth", Read, "One 秒杀 with its stock left and its claims (member, rank, reserved or paid)"),
    ("post", "/offers/{id}/claims", "growth", Edit, "Claim one item of a 秒杀 for a member (platform, user, request): first come first served with the chat's claims, one per member, the points price through the ledger and the coupon issued; a refusal is 409 with field not_started, ended, sold_out, already_claimed or cannot_pay"),
    ("get", "/swaps", "growth", Read, "The swap board (换) of every group, last 30 days, newest first: who has what for what, open, swapped (with whom, paired with the mirror offer) or withdrawn"),
    ("get", "/leaderboards/{board}/groups/{id}", "growth", Read, "A group's live leaderboard: invites (present invitees), check_ins (totals) or points (the workspace's balances), ties sharing a rank"),
    ("get", "/plays", "growth", Read, "Growth plays 拼 砍 帮 送 (group-buy, bargain, assist, gift documents) with their check"),
    ("put", "/plays/{name}", "growth", Edit, "Save a play document (TOML); problems are answered with LINE:COL and the field path"),
    ("get", "/play-runs", "growth", Read, "Teams, bargains and assists, newest first, with members, cuts and state; filter by play and state (open, done, failed)"),
    ("get", "/banlist", "banlist", Read, "The brand-wide ban list 黑名单, followed policy lists with who each would ban where (dry-run), and rules refused for matching staff or the bot"),
    ("post", "/banlist/bans", "banlist", Edit, "Ban a member id, glob or server from every group of the workspace (refused if it matches staff); once per entity"),
    ("post", "/banlist/bans/remove", "banlist", Edit, "Lift a ban: waiting bans cancelled, an unban queued in every group where it was carried out"),
    ("post", "/banlist/lists", "banlist", Admin, "Follow a Matrix policy list room, in dry-run until enforced"),
    ("post", "/banlist/lists/enforce", "banlist", Admin, "Enforce a followed policy list after its dry-run"),
    ("post", "/banlist/lists/remove", "banlist", Admin, "Stop following a policy list; its rules stop counting"),
    ("get", "/analytics/days", "analytics", Read, "Daily rollups per group (members at day end, joins by channel, left vs removed, speakers, messages, check-ins, invites, orders, revenue, tracked-link clicks), filtered by group and days, paged"),
    ("get", "/analytics/days.csv", "analytics", Read, "The same daily rollups as CSV"),
    ("get", "/analytics/funnel", "analytics", Read, "The AARRR funnel of acquired members, filtered by group, channel, campaign and join days, optionally broken down (by) and with its own windows"),
    ("get", "/analytics/platform-counts", "analytics", Read, "A platform's own daily counts beside qunzhu's (WeCom's new members vs the rollups' joins), each day with its difference; `from`, `to` (default the last 30 days)"),
    ("get", "/analytics/cohorts", "analytics", Read, "Retention cohorts by join week (the triangle), filtered like the funnel"),
    ("get", "/analytics/cohorts.csv", "analytics", Read, "The retention triangle as CSV"),
    ("get", "/analytics/cohorts/members", "analytics", Read, "The members behind one cohort cell (join week, week k after joining), paged"),
    ("get", "/analytics/groups", "analytics", Read, "Every active group's 30-day trend with a health score (0-100), sickest first; dying=true keeps the dying ones, each with a suggested fate"),
    ("get", "/analytics/tiers", "analytics", Read, "Members by the tier their behaviour earned (vip, regular, prospect) with the spend, points, active days and check-ins it was decided from and the rules; filter tier, paged (offset, limit)"),
    ("get", "/analytics/tiers.csv", "analytics", Read, "The same member tiers as CSV"),
    ("get", "/analytics/kols", "analytics", Read, "KOLs: members whose invitees stayed in the group they were brought into (at least min_referrals, default 3), most first, with the definition; filter platform and chat, paged"),
    ("get", "/analytics/kols.csv", "analytics", Read, "The same KOLs as CSV"),
    ("get", "/analytics/lurkers", "analytics", Read, "Lurkers: present members who joined at least grace_days ago (default 7) and posted at most max_messages (default 0) in the group, longest-joined first, with the definition; filter platform and chat, paged"),
    ("get", "/analytics/lurkers.csv", "analytics", Read, "The same lurkers as CSV"),
    ("post", "/groups/{id}/fate", "analytics", Edit, "Apply a decision on a dying group in one step: reactivate (posts the topic text), merge (posts a notice naming the group `into`, archives) or dissolve (posts a notice, dissolves); keyed by `request`"),
    ("get", "/landing-pages", "landing", Read, "Landing pages (H5) with their check and per-channel views, phones and join clicks"),
    ("post", "/landing-pages/validate", "landing", Read, "Check a landing page document (name, source) without saving it; problems are answered with source:LINE:COL"),
    ("get", "/landing-pages/{name}", "landing", Read, "One landing page: source, check, counters per channel"),
    ("put", "/landing-pages/{name}", "landing", Edit, "Save a landing page document (TOML: [top], [[middle]], [bottom]); it is public at /h5/{workspace}/{name} at once"),
    ("delete", "/landing-pages/{name}", "landing", Edit, "Delete a landing page document (its counters and leads stay until deleted)"),
    ("get", "/landing-pages/{name}/leads", "landing", Read, "A landing page's leads, newest first, phone numbers masked (138****5678)"),
    ("get", "/landing-pages/{name}/leads.csv", "landing", Owner, "A landing page's leads as CSV with the numbers in clear (id, at, channel, phone); owners only, audited"),
    ("delete", "/landing-leads/{lead}", "landing", Edit, "Delete one lead for good (audited without the number)"),
    ("post", "/landing-leads/forget", "landing", Edit, "Delete every lead of a phone number on any page (a person asked to be forgotten); answers how many went"),
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
                "code": { "type": "string", "enum": ["unauthorized", "forbidden", "not_found", "invalid_input", "conflict", "rate_limited", "payload_too_large", "csrf_failed", "unavailable", "internal", "bad_signature", "stale_timestamp", "replayed_nonce", "unknown_member"] },
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
