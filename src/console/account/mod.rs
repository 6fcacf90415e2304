//! "Your account", for every signed-in worker: who they are, changing their password
//! (the current one required; every other session ends), new recovery codes (shown once;
//! the old ones stop working), and "sign out everywhere" (every session, JSON tokens
//! included). The rules are in [`crate::workers::accounts`] and
//! [`crate::workers::second_factor`].
use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::accounts::account_error;
use super::csrf::CsrfField;
use super::error::{ConsoleError, ConsoleResult, internal};
use super::session::{self, ConsoleSession, SESSION, SignedInForm};
use super::team::role_label;
use super::{Layout, method_not_allowed, render};
use crate::error::ApiError;
use crate::referrals::guard::Verdict;
use crate::referrals::routes::ClientKey;
use crate::state::AppState;
use crate::workers::accounts::{self, AccountError, Field};
use crate::workers::second_factor;

pub fn routes() -> Router<AppState> {
    let back = || async { Redirect::to("/console/account") };
    Router::new()
        .route("/console/account", get(page).fallback(method_not_allowed))
        .route(
            "/console/account/password",
            post(change_password).get(back).fallback(method_not_allowed),
        )
        .route(
            "/console/account/recovery-codes",
            post(new_codes).get(back).fallback(method_not_allowed),
        )
        .route(
            "/console/account/sign-out-everywhere",
            post(sign_out_everywhere)
                .get(back)
                .fallback(method_not_allowed),
        )
}

#[derive(Template)]
#[template(path = "account/page.html")]
struct AccountPage {
    layout: Layout,
    csrf: String,
    name: String,
    email: String,
    role: &'static str,
    organisation: String,
    second_factor: bool,
    codes_left: u64,
    notice: Option<&'static str>,
    /// (field id, message) of a problem with the password form.
    error: Option<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "account/codes.html")]
struct CodesPage {
    layout: Layout,
    codes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    done: String,
}

async fn account_page(
    state: &AppState,
    me: &ConsoleSession,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<(&'static str, String)>,
) -> ConsoleResult<Response> {
    let w = &me.worker;
    let organisation = accounts::organisation_name(&state.db, w.organisation_id)
        .await?
        .unwrap_or_default();
    let second_factor = w.totp_secret_sealed.is_some();
    let codes_left = if second_factor {
        second_factor::recovery_codes_left(state, w.id).await?
    } else {
        0
    };
    let view = AccountPage {
        layout: Layout::new(
            if error.is_some() {
                "Error: Your account"
            } else {
                "Your account"
            },
            Some(me.me()),
        ),
        csrf: me.csrf.clone(),
        name: w.name.clone(),
        email: w.email.clone(),
        role: role_label(&w.role),
        organisation,
        second_factor,
        codes_left,
        notice,
        error,
    };
    Ok(render(status, &view))
}

/// `GET /console/account` (`?done=password` after a change, for its notice).
pub async fn page(
    State(state): State<AppState>,
    me: ConsoleSession,
    Query(q): Query<AccountQuery>,
) -> ConsoleResult<Response> {
    let notice = match q.done.as_str() {
        "password" => Some(
            "Your password has been changed. You are still signed in here; everywhere else \
             you have been signed out.",
        ),
        _ => None,
    };
    account_page(&state, &me, StatusCode::OK, notice, None).await
}

/// No `Debug`: it holds a password or a link's token.
#[derive(Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

fn field_id(field: Field) -> &'static str {
    match field {
        Field::CurrentPassword => "current-password",
        Field::NewPasswordAgain => "new-password-again",
        _ => "new-password",
    }
}

fn too_many() -> ConsoleError {
    ApiError::TooManyRequests {
        detail: String::new(),
        retry_after_secs: 900,
    }
    .into()
}

/// `POST /console/account/password` (`current_password`, `new_password`,
/// `new_password_again`, `csrf`). A wrong current password counts toward the sign-in
/// throttle of this connection; a problem is the page again, 422, nothing changed.
pub async fn change_password(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    SignedInForm { me, form }: SignedInForm<PasswordForm>,
) -> ConsoleResult<Response> {
    let guard = &state.guards.login_failures;
    if guard.count(&ip) >= state.settings.login_failures_allowed {
        return Err(too_many());
    }
    match accounts::change_password(
        &state,
        me.worker.id,
        me.session.id,
        &form.current_password,
        &form.new_password,
        &form.new_password_again,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/console/account?done=password").into_response()),
        Err(AccountError::Invalid { field, message }) => {
            if field == Field::CurrentPassword
                && let Verdict::Refuse { .. } = guard.hit(&ip)
            {
                tracing::warn!("console password-change failures over the limit");
            }
            account_page(
                &state,
                &me,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some((field_id(field), message)),
            )
            .await
        }
        Err(e) => Err(account_error(e, "/console/account", "Go to your account")),
    }
}

/// `POST /console/account/recovery-codes` (`csrf`): 10 new codes, shown once; the old
/// ones stop working. Only with a second factor set up.
pub async fn new_codes(
    State(state): State<AppState>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let codes = second_factor::new_recovery_codes(&state, me.worker.id)
        .await
        .map_err(|e| match e {
            ApiError::Conflict(_) => ConsoleError::page(
                StatusCode::CONFLICT,
                "You have no second factor yet",
                "Recovery codes go with an authenticator app. You will set one up when you \
                 next sign in, and get your codes then.",
            )
            .next("/console/account", "Go to your account"),
            e => e.into(),
        })?;
    let view = CodesPage {
        layout: Layout::new("Your new recovery codes", Some(me.me())),
        codes,
    };
    Ok(render(StatusCode::OK, &view))
}

/// `POST /console/account/sign-out-everywhere` (`csrf`): every session of this worker
/// ends, this one too; on to the sign-in page.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    accounts::sign_out_everywhere(&state, me.worker.id).await?;
    let cookie: HeaderValue =
        session::clear_cookie(&state.settings, SESSION).ok_or_else(internal)?;
    let mut response = Redirect::to("/console/sign-in?signed_out=everywhere").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
