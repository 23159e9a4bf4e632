//! Console users an admin manages (the same operations as `qunzhu users`): disable or enable,
//! set a generated password shown once, end every session, delete. Linked from settings.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use qunzhu_ops::generate_password;
use qunzhu_storage::UserRole;

use super::{html, see_other, Page, PageResult, Posted};
use crate::error::{ApiError, ErrorCode};
use crate::html::{card, esc, notice, pill, url_part, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route(
            "/settings/users",
            get(page).post(super::settings::create_user),
        )
        .route("/settings/users/{login}/disable", post(disable))
        .route("/settings/users/{login}/enable", post(enable))
        .route("/settings/users/{login}/password", post(password))
        .route("/settings/users/{login}/revoke", post(revoke))
        .route("/settings/users/{login}/delete", post(delete))
}

/// What a page shows above the table: a password set just now, or why an action was refused.
enum Outcome {
    None,
    Password { login: String, password: String },
    Refused(String),
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    render(&ctx, &shell, Outcome::None, StatusCode::OK).await
}

fn button(
    shell: &Shell,
    login: &str,
    action: &str,
    label_key: &str,
    class: &str,
    confirm: bool,
) -> String {
    let confirm = if confirm {
        format!(r#" data-confirm="{}""#, esc(shell.t(label_key)))
    } else {
        String::new()
    };
    format!(
        r#"<form method="post" action="/settings/users/{login}/{action}" class="inline"{confirm}>{csrf}<button class="btn small {class}" type="submit" data-user-action="{action}">{label}</button></form>"#,
        login = url_part(login),
        csrf = shell.csrf_field(),
        label = shell.t(label_key),
    )
}

async fn render(ctx: &Ctx, shell: &Shell, outcome: Outcome, status: StatusCode) -> PageResult {
    if shell.principal.role < UserRole::Admin {
        let body = notice("info", shell.t("error.forbidden"));
        return Ok(html(
            StatusCode::OK,
            shell.page("settings", shell.t("users.title"), &body),
        ));
    }
    let users = ctx.ops().list_users(&shell.principal.actor()).await?;
    let mut rows = String::new();
    for user in &users {
        let me = shell.principal.actor == qunzhu_domain::ActorName::User(user.login.clone());
        let state = if user.disabled {
            format!(
                "{} {}",
                pill("dead", shell.t("users.disabled")),
                shell.when_opt(user.disabled_at)
            )
        } else {
            pill("done", shell.t("users.active"))
        };
        let mut actions = String::new();
        if user.role <= shell.principal.role {
            if !me {
                actions.push_str(&if user.disabled {
                    button(shell, &user.login, "enable", "users.enable", "", false)
                } else {
                    button(shell, &user.login, "disable", "users.disable", "", true)
                });
            }
            actions.push_str(&button(
                shell,
                &user.login,
                "password",
                "users.new_password",
                "",
                true,
            ));
            actions.push_str(&button(
                shell,
                &user.login,
                "revoke",
                "users.revoke",
                "",
                true,
            ));
            if !me {
                actions.push_str(&button(
                    shell,
                    &user.login,
                    "delete",
                    "users.delete",
                    "danger",
                    true,
                ));
            }
        }
        let _ = write!(
            rows,
            r#"<tr data-user="{login}"><td>{login}{you}</td><td>{role}</td><td>{state}</td><td class="num">{sessions}</td><td class="actions">{actions}</td></tr>"#,
            login = esc(&user.login),
            you = if me {
                format!(" <small class=\"muted\">({})</small>", shell.t("users.you"))
            } else {
                String::new()
            },
            role = shell.t(&format!("urole.{}", user.role.as_str())),
            sessions = user.sessions,
        );
    }
    let top = match outcome {
        Outcome::None => super::flash(shell),
        Outcome::Password { login, password } => format!(
            r#"<div class="notice ok" role="status">{} <strong>{}</strong>: <code class="secret" data-copy data-new-password>{}</code></div>"#,
            shell.t("users.password_once"),
            esc(&login),
            esc(&password)
        ),
        Outcome::Refused(message) => notice("error", &message),
    };
    let table = format!(
        r#"<p class="muted small">{hint}</p><div class="table-wrap"><table><thead><tr><th>{login}</th><th>{role}</th><th>{state}</th><th class="num">{sessions}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div><p><a href="/settings">{back}</a></p>"#,
        hint = shell.t("users.hint"),
        login = shell.t("login.login"),
        role = shell.t("settings.token_role"),
        state = shell.t("common.status"),
        sessions = shell.t("users.sessions"),
        back = shell.t("users.back"),
    );
    let body = format!("{top}{}", card(shell.t("settings.users"), &table));
    Ok(html(
        status,
        shell.page("settings", shell.t("users.title"), &body),
    ))
}

/// Runs one account operation; a refusal the admin can act on is shown on the page itself.
async fn act<T>(
    ctx: &Ctx,
    shell: &Shell,
    result: Result<T, qunzhu_ops::OpsError>,
    flash: &str,
) -> PageResult {
    match result.map_err(ApiError::from) {
        Ok(_) => Ok(see_other(&format!("/settings/users?ok={flash}"))),
        Err(error) if matches!(error.code, ErrorCode::InvalidInput | ErrorCode::Forbidden) => {
            render(
                ctx,
                shell,
                Outcome::Refused(error.message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

async fn disable(
    State(ctx): State<Ctx>,
    Path(login): Path<String>,
    Posted(shell, _): Posted,
) -> PageResult {
    let result = ctx
        .ops()
        .disable_user(&shell.principal.actor(), &login)
        .await;
    act(&ctx, &shell, result, "saved").await
}

async fn enable(
    State(ctx): State<Ctx>,
    Path(login): Path<String>,
    Posted(shell, _): Posted,
) -> PageResult {
    let result = ctx
        .ops()
        .enable_user(&shell.principal.actor(), &login)
        .await;
    act(&ctx, &shell, result, "saved").await
}

async fn revoke(
    State(ctx): State<Ctx>,
    Path(login): Path<String>,
    Posted(shell, _): Posted,
) -> PageResult {
    let result = ctx
        .ops()
        .revoke_sessions(&shell.principal.actor(), &login)
        .await;
    act(&ctx, &shell, result, "revoked").await
}

async fn delete(
    State(ctx): State<Ctx>,
    Path(login): Path<String>,
    Posted(shell, _): Posted,
) -> PageResult {
    let result = ctx
        .ops()
        .delete_user(&shell.principal.actor(), &login)
        .await;
    act(&ctx, &shell, result, "saved").await
}

/// A generated password, shown once on the answer (as `qunzhu users passwd` prints it once).
async fn password(
    State(ctx): State<Ctx>,
    Path(login): Path<String>,
    Posted(shell, _): Posted,
) -> PageResult {
    let password = generate_password();
    match ctx
        .ops()
        .set_password(&shell.principal.actor(), &login, &password)
        .await
    {
        Ok(user) => {
            // Setting your own password ended your session too; sign in again with the new one.
            let outcome = Outcome::Password {
                login: user.login,
                password,
            };
            render(&ctx, &shell, outcome, StatusCode::OK).await
        }
        Err(error) => act::<()>(&ctx, &shell, Err(error), "saved").await,
    }
}
