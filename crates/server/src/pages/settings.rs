//! Settings: API tokens (created once, shown once, revocable) and console users.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use qunzhu_storage::UserRole;

use super::forms::{choice, text, FieldErrors};
use super::{flash, html, see_other, FormData, Page, PageResult, Posted};
use crate::html::{card, empty_row, esc, notice, pill, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
        .route("/settings/users", post(create_user))
}

fn roles(shell: &Shell) -> Vec<(String, String)> {
    [
        UserRole::Viewer,
        UserRole::Operator,
        UserRole::Admin,
        UserRole::Owner,
    ]
    .iter()
    .filter(|role| **role <= shell.principal.role)
    .map(|role| {
        (
            role.as_str().to_string(),
            shell.t(&format!("urole.{}", role.as_str())).to_string(),
        )
    })
    .collect()
}

/// What the page shows besides the lists: a fresh secret, or a rejected form as typed.
#[derive(Default)]
struct Extra {
    secret: Option<String>,
    token_form: FormData,
    token_errors: FieldErrors,
    user_form: FormData,
    user_errors: FieldErrors,
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    render(&ctx, &shell, Extra::default(), StatusCode::OK).await
}

async fn render(ctx: &Ctx, shell: &Shell, extra: Extra, status: StatusCode) -> PageResult {
    if shell.principal.role < UserRole::Admin {
        let body = notice("info", shell.t("error.forbidden"));
        return Ok(html(
            StatusCode::OK,
            shell.page("settings", shell.t("settings.title"), &body),
        ));
    }
    let ws = shell.principal.workspace;
    let tokens = ctx.app.store.api_tokens(ws).await?;
    let mut rows = String::new();
    for t in &tokens {
        let state = match t.revoked_at {
            Some(at) => format!(
                "{} {}",
                pill("dead", shell.t("settings.revoked")),
                shell.when(at)
            ),
            None => format!(
                r#"<form method="post" action="/settings/tokens/{}/revoke">{}<button class="btn small danger" type="submit">{}</button></form>"#,
                t.id,
                shell.csrf_field(),
                shell.t("settings.revoke")
            ),
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>",
            esc(&t.name),
            shell.t(&format!("urole.{}", t.role.as_str())),
            shell.when(t.created_at)
        );
    }
    if tokens.is_empty() {
        rows = empty_row(shell.lang, 4);
    }
    let secret = extra.secret.map_or_else(String::new, |secret| {
        format!(r#"<div class="notice ok" role="status">{} <code class="secret" data-copy>{}</code></div>"#, shell.t("settings.token_once"), esc(&secret))
    });
    let token_role = if extra.token_form.get("token_role").is_empty() {
        "viewer"
    } else {
        extra.token_form.get("token_role")
    };
    let token_form = format!(
        r#"<form method="post" action="/settings/tokens" class="form-row">{csrf}{name}{role}<div class="field"><button class="btn primary" type="submit">{create}</button></div></form>"#,
        csrf = shell.csrf_field(),
        name = text(
            shell.t("settings.token_name"),
            "token_name",
            extra.token_form.get("token_name"),
            &extra.token_errors,
            "required"
        ),
        role = choice(
            shell.t("settings.token_role"),
            "token_role",
            &roles(shell),
            token_role,
            &extra.token_errors
        ),
        create = shell.t("settings.create_token"),
    );
    let token_table = format!(
        r#"{secret}<p class="muted small">{api_hint} <a href="/api/v1/openapi.json"><code>{api_base}/api/v1/openapi.json</code></a></p><div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>{token_form}"#,
        shell.t("common.name"),
        shell.t("settings.token_role"),
        shell.t("common.time"),
        api_hint = shell.t("settings.api_hint"),
        api_base = esc(ctx.app.base_url.trim_end_matches('/')),
    );
    let users = ctx.app.store.users(ws).await?;
    let mut user_rows = String::new();
    for u in &users {
        let _ = write!(
            user_rows,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&u.login),
            shell.t(&format!("urole.{}", u.role.as_str()))
        );
    }
    let user_role = if extra.user_form.get("role").is_empty() {
        "operator"
    } else {
        extra.user_form.get("role")
    };
    let user_form = format!(
        r#"<form method="post" action="/settings/users" class="form-row">{csrf}{login}{password}{role}<div class="field"><button class="btn primary" type="submit">{add}</button></div></form>"#,
        csrf = shell.csrf_field(),
        login = text(
            shell.t("login.login"),
            "login",
            extra.user_form.get("login"),
            &extra.user_errors,
            r#"required autocomplete="off""#
        ),
        password = text(
            shell.t("login.password"),
            "password",
            "",
            &extra.user_errors,
            r#"type="password" required autocomplete="new-password" minlength="8""#
        ),
        role = choice(
            shell.t("settings.token_role"),
            "role",
            &roles(shell),
            user_role,
            &extra.user_errors
        ),
        add = shell.t("settings.add_user"),
    );
    let user_table = format!(
        r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{user_rows}</tbody></table></div>{user_form}"#,
        shell.t("login.login"),
        shell.t("settings.token_role"),
    );
    let body = format!(
        "{}{}{}",
        flash(shell),
        card(shell.t("settings.tokens"), &token_table),
        card(shell.t("settings.users"), &user_table)
    );
    Ok(html(
        status,
        shell.page("settings", shell.t("settings.title"), &body),
    ))
}

fn parse_role(form: &FormData, field: &str, errors: &mut FieldErrors) -> Option<UserRole> {
    let role = UserRole::parse(form.get(field));
    if role.is_none() {
        errors.add(field, "viewer, operator, admin or owner");
    }
    role
}

async fn create_token(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    shell.principal.require(UserRole::Admin)?;
    let mut errors = FieldErrors::default();
    let role = parse_role(&form, "token_role", &mut errors);
    if let Some(role) = role {
        match ctx
            .ops()
            .create_token(&shell.principal.actor(), form.get("token_name"), role)
            .await
            .map_err(crate::ApiError::from)
        {
            Ok((_, secret)) => {
                return render(
                    &ctx,
                    &shell,
                    Extra {
                        secret: Some(secret),
                        ..Extra::default()
                    },
                    StatusCode::OK,
                )
                .await
            }
            Err(error) if error.code == crate::ErrorCode::InvalidInput => errors.add(
                if error.field.as_deref() == Some("role") {
                    "token_role"
                } else {
                    "token_name"
                },
                error.message,
            ),
            Err(error) => return Err(error.into()),
        }
    }
    render(
        &ctx,
        &shell,
        Extra {
            token_form: form,
            token_errors: errors,
            ..Extra::default()
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn revoke_token(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops().revoke_token(&shell.principal.actor(), id).await?;
    Ok(see_other("/settings?ok=revoked"))
}

async fn create_user(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    shell.principal.require(UserRole::Admin)?;
    let mut errors = FieldErrors::default();
    if let Some(role) = parse_role(&form, "role", &mut errors) {
        match ctx
            .ops()
            .add_user(
                &shell.principal.actor(),
                form.get("login"),
                form.get("password"),
                role,
            )
            .await
            .map_err(crate::ApiError::from)
        {
            Ok(_) => return Ok(see_other("/settings?ok=saved")),
            Err(error)
                if matches!(
                    error.code,
                    crate::ErrorCode::InvalidInput | crate::ErrorCode::Conflict
                ) =>
            {
                errors.add(error.field.as_deref().unwrap_or("login"), error.message)
            }
            Err(error) => return Err(error.into()),
        }
    }
    render(
        &ctx,
        &shell,
        Extra {
            user_form: form,
            user_errors: errors,
            ..Extra::default()
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}
