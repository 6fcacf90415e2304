//! Sign-in: email and password, then (when the account needs it) a code from the
//! authenticator app, or enrolling one the first time; and sign-out. The pending second
//! step lives in an HttpOnly, SameSite=Strict cookie holding a 10-minute challenge token.
use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::csrf::{self, CsrfField};
use super::error::{ConsoleError, ConsoleResult, internal};
use super::session::{self, CHALLENGE, ConsoleSession, SESSION, SignInForm, SignedInForm};
use super::{Layout, render};
use crate::entities::worker;
use crate::error::ApiError;
use crate::referrals::guard::Verdict;
use crate::referrals::routes::ClientKey;
use crate::state::AppState;
use crate::workers::accounts;
use crate::workers::second_factor::{self as factor, AfterPassword};

const BAD_LOGIN: &str = "The email address or password is not right. Check them and try again.";
const BAD_CODE: &str =
    "That code is not right. Type the 6 numbers your authenticator app shows now.";
const CHALLENGE_SECS: i64 = 600;

#[derive(Template)]
#[template(path = "signin/page.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
    email: String,
    error: Option<&'static str>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "signin/code.html")]
struct CodePage {
    layout: Layout,
    csrf: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "signin/enrol.html")]
struct EnrolPage {
    layout: Layout,
    csrf: String,
    error: Option<&'static str>,
    secret: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "signin/recovery.html")]
struct RecoveryPage {
    layout: Layout,
    codes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    signed_out: Option<String>,
}

fn with_cookies(
    mut response: Response,
    cookies: impl IntoIterator<Item = Option<HeaderValue>>,
) -> Response {
    for c in cookies.into_iter().flatten() {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    error: Option<&'static str>,
    notice: Option<String>,
) -> Response {
    let pre = csrf::pre_session(state, headers);
    let page = SignInPage {
        layout: Layout::new("Sign in", None),
        csrf: pre.csrf,
        email,
        error,
        notice,
    };
    with_cookies(render(status, &page), [pre.set_cookie])
}

/// `GET /console/sign-in`.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    if session::load(&headers, &state, false).await.is_ok() {
        return Redirect::to("/console/inbox").into_response();
    }
    let notice = match q.signed_out.as_deref() {
        Some("idle") => Some(format!(
            "You were signed out after {} minutes without activity. Sign in again to carry on.",
            state.settings.console_idle_minutes
        )),
        Some("everywhere") => Some(
            "You have been signed out everywhere: on this computer, on any other, and in any app \
             using your account. Sign in again to carry on."
                .to_string(),
        ),
        Some(_) => Some("You have signed out.".to_string()),
        None => None,
    };
    sign_in_page(
        &state,
        &headers,
        StatusCode::OK,
        String::new(),
        None,
        notice,
    )
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn too_many() -> ConsoleError {
    ApiError::TooManyRequests {
        detail: String::new(),
        retry_after_secs: 900,
    }
    .into()
}

/// `POST /console/sign-in` (`email`, `password`, `csrf`).
pub async fn submit(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    SignInForm { headers, form }: SignInForm<SignIn>,
) -> ConsoleResult<Response> {
    let guard = &state.guards.login_failures;
    if guard.count(&ip) >= state.settings.login_failures_allowed {
        return Err(too_many());
    }
    let email = form.email.trim().to_string();
    let found = if email.is_empty() || form.password.is_empty() || form.password.len() > 1024 {
        None
    } else {
        accounts::authenticate(&state.db, &email, &form.password).await?
    };
    let Some(worker) = found else {
        if let Verdict::Refuse { .. } = guard.hit(&ip) {
            tracing::warn!("console sign-in failures over the limit");
        }
        return Ok(sign_in_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            email,
            Some(BAD_LOGIN),
            None,
        ));
    };
    let next = match factor::after_password(&state, &worker).await? {
        AfterPassword::Complete => return signed_in(&state, &worker, None).await,
        AfterPassword::NeedCode => "/console/sign-in/code",
        AfterPassword::NeedEnrolment => "/console/sign-in/enrol",
    };
    let token = factor::start_challenge(&state, worker.id).await?;
    let cookie = session::set_cookie(&state.settings, CHALLENGE, &token, Some(CHALLENGE_SECS));
    Ok(with_cookies(Redirect::to(next).into_response(), [cookie]))
}

/// Every step passed: a session cookie, the challenge cookie cleared, on to the inbox (or
/// to `then`, a page shown once).
async fn signed_in(
    state: &AppState,
    worker: &worker::Model,
    then: Option<Response>,
) -> ConsoleResult<Response> {
    let cookie = session::start(state, worker.id).await?;
    let response = then.unwrap_or_else(|| Redirect::to("/console/inbox").into_response());
    Ok(with_cookies(
        response,
        [
            Some(cookie),
            session::clear_cookie(&state.settings, CHALLENGE),
        ],
    ))
}

fn start_again() -> ConsoleError {
    ConsoleError::page(
        StatusCode::BAD_REQUEST,
        "Start signing in again",
        "This sign-in step has ended: it lasts 10 minutes and can be used once. Sign in \
         again with your email address and password.",
    )
    .next("/console/sign-in", "Go to the sign-in page")
}

/// The worker whose sign-in is waiting for its second step, and the challenge token.
async fn pending(state: &AppState, headers: &HeaderMap) -> ConsoleResult<(worker::Model, String)> {
    let name = session::cookie_name(&state.settings, CHALLENGE);
    let token = session::read_cookie(headers, &name).ok_or_else(start_again)?;
    let worker = factor::worker_for_challenge(state, &token)
        .await?
        .ok_or_else(start_again)?;
    Ok((worker, token))
}

fn code_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&'static str>,
) -> Response {
    let pre = csrf::pre_session(state, headers);
    let page = CodePage {
        layout: Layout::new("Enter your code", None),
        csrf: pre.csrf,
        error,
    };
    with_cookies(render(status, &page), [pre.set_cookie])
}

/// `GET /console/sign-in/code`.
pub async fn code_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ConsoleResult<Response> {
    pending(&state, &headers).await?;
    Ok(code_page(&state, &headers, StatusCode::OK, None))
}

#[derive(Debug, Deserialize)]
pub struct Code {
    #[serde(default)]
    code: String,
}

/// Whether a refusal of a code is the code being wrong (shown on the form) rather than
/// something else (an error page).
fn wrong_code(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Unauthorized(_) | ApiError::Validation(_) | ApiError::BadRequest(_)
    )
}

/// `POST /console/sign-in/code` (`code`, `csrf`): a code from the app or a recovery code.
pub async fn code_submit(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    SignInForm { headers, form }: SignInForm<Code>,
) -> ConsoleResult<Response> {
    let guard = &state.guards.login_failures;
    if guard.count(&ip) >= state.settings.login_failures_allowed {
        return Err(too_many());
    }
    let (worker, token) = pending(&state, &headers).await?;
    match factor::verify(&state, &worker, form.code.trim(), ip).await {
        Ok(()) => {}
        // The second factor counts wrong codes itself, per account and per client.
        Err(e) if wrong_code(&e) => {
            return Ok(code_page(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                Some(BAD_CODE),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    factor::finish_challenge(&state, &token).await?;
    signed_in(&state, &worker, None).await
}

async fn enrol_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    status: StatusCode,
    error: Option<&'static str>,
) -> ConsoleResult<Response> {
    let enrolment = factor::begin_enrolment(state, token).await?;
    let pre = csrf::pre_session(state, headers);
    let page = EnrolPage {
        layout: Layout::new("Set up your authenticator app", None),
        csrf: pre.csrf,
        error,
        secret: enrolment.secret_base32,
        qr_svg: enrolment.qr_svg,
    };
    Ok(with_cookies(render(status, &page), [pre.set_cookie]))
}

/// `GET /console/sign-in/enrol`: the QR code (SVG, drawn here) and the secret as text.
pub async fn enrol_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ConsoleResult<Response> {
    let (_, token) = pending(&state, &headers).await?;
    enrol_page(&state, &headers, &token, StatusCode::OK, None).await
}

/// `POST /console/sign-in/enrol` (`code`, `csrf`): confirms the app, then shows the 10
/// recovery codes once.
pub async fn enrol_submit(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    SignInForm { headers, form }: SignInForm<Code>,
) -> ConsoleResult<Response> {
    let guard = &state.guards.login_failures;
    if guard.count(&ip) >= state.settings.login_failures_allowed {
        return Err(too_many());
    }
    let (worker, token) = pending(&state, &headers).await?;
    let codes = match factor::confirm_enrolment(&state, &token, form.code.trim(), ip).await {
        Ok(codes) => codes,
        Err(e) if wrong_code(&e) => {
            return enrol_page(
                &state,
                &headers,
                &token,
                StatusCode::UNAUTHORIZED,
                Some(BAD_CODE),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    factor::finish_challenge(&state, &token).await?;
    let page = RecoveryPage {
        layout: Layout::new("Your recovery codes", None),
        codes,
    };
    signed_in(&state, &worker, Some(render(StatusCode::OK, &page))).await
}

/// `POST /console/sign-out` (`csrf`): the session ends and its cookie is cleared.
pub async fn sign_out(
    State(state): State<AppState>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let ConsoleSession { session, .. } = me;
    accounts::revoke(&state.db, session.id, state.clock.now()).await?;
    let cookie = session::clear_cookie(&state.settings, SESSION).ok_or_else(internal)?;
    Ok(with_cookies(
        Redirect::to("/console/sign-in?signed_out=yes").into_response(),
        [Some(cookie)],
    ))
}
