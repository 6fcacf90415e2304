//! `/console/set-password?token=…`: the one-time link a new account starts from (or a
//! coordinator's new link after a forgotten password). No session; the form carries the
//! pre-session anti-forgery token, like sign-in. The token travels in the query string of
//! the GET only (request logs record the route, never the query; pages send
//! `Referrer-Policy: no-referrer`) and in the form's body. The rules are in
//! [`crate::workers::password_links`].
use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use super::csrf;
use super::error::{ConsoleError, ConsoleResult};
use super::session::SignInForm;
use super::{Layout, method_not_allowed, render};
use crate::state::AppState;
use crate::workers::accounts::{AccountError, Field};
use crate::workers::password_links::{self, UseLinkError};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        password_links::PATH,
        get(form).post(submit).fallback(method_not_allowed),
    )
}

#[derive(Template)]
#[template(path = "set_password/page.html")]
struct SetPasswordPage {
    layout: Layout,
    csrf: String,
    token: String,
    email: String,
    /// (field id, message) of the problem, if any.
    error: Option<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "set_password/done.html")]
struct DonePage {
    layout: Layout,
}

/// The one page for an unknown, used, replaced or expired link.
fn gone() -> ConsoleError {
    ConsoleError::page(
        StatusCode::GONE,
        "This link does not work any more",
        "A set-password link works once, for 24 hours, and stops working when a newer one \
         is made. Ask your coordinator for a new link.",
    )
    .next("/console/sign-in", "Go to the sign-in page")
}

/// No `Debug`: it holds a password or a link's token.
#[derive(Default, Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
    #[serde(default)]
    done: String,
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    token: &str,
    email: String,
    error: Option<(&'static str, String)>,
) -> Response {
    let pre = csrf::pre_session(state, headers);
    let view = SetPasswordPage {
        layout: Layout::new(
            if error.is_some() {
                "Error: Choose your password"
            } else {
                "Choose your password"
            },
            None,
        ),
        csrf: pre.csrf,
        token: token.to_string(),
        email,
        error,
    };
    let mut response = render(status, &view);
    if let Some(c) = pre.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// `GET /console/set-password?token=…` (and `?done=1` after the password is set).
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> ConsoleResult<Response> {
    if q.done == "1" && q.token.is_empty() {
        let view = DonePage {
            layout: Layout::new("Your password is set", None),
        };
        return Ok(render(StatusCode::OK, &view));
    }
    let Some(w) = password_links::worker_for(&state, q.token.trim()).await? else {
        return Err(gone());
    };
    Ok(page(
        &state,
        &headers,
        StatusCode::OK,
        q.token.trim(),
        w.email,
        None,
    ))
}

/// No `Debug`: it holds a password or a link's token.
#[derive(Default, Deserialize)]
pub struct SetPassword {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

fn field_id(field: Field) -> &'static str {
    match field {
        Field::NewPasswordAgain => "password-again",
        _ => "password",
    }
}

/// `POST /console/set-password` (`token`, `password`, `password_again`, `csrf`): sets the
/// password, uses the link up, ends every session of the account, then on to a page that
/// sends them to sign in.
pub async fn submit(
    State(state): State<AppState>,
    SignInForm { headers, form }: SignInForm<SetPassword>,
) -> ConsoleResult<Response> {
    let token = form.token.trim();
    match password_links::set_password(&state, token, &form.password, &form.password_again).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?done=1", password_links::PATH)).into_response()),
        Err(UseLinkError::Gone) => Err(gone()),
        Err(UseLinkError::Account(AccountError::Invalid { field, message })) => {
            let email = password_links::worker_for(&state, token)
                .await?
                .map(|w| w.email)
                .ok_or_else(gone)?;
            Ok(page(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                token,
                email,
                Some((field_id(field), message)),
            ))
        }
        Err(UseLinkError::Account(e)) => Err(super::accounts::account_error(
            e,
            "/console/sign-in",
            "Go to the sign-in page",
        )),
    }
}
