//! Console sessions: a row in `worker_sessions` of kind `console` (only the SHA-256 of its
//! token is stored) and a cookie holding the token. It ends on sign-out, after
//! `SIGNPOST_CONSOLE_IDLE_MINUTES` without activity, and after `SIGNPOST_SESSION_HOURS`.
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
};
use chrono::Duration;
use serde::de::DeserializeOwned;

use super::Me;
use super::csrf;
use super::error::{ConsoleError, ConsoleResult, forged_form};
use crate::entities::{worker, worker_session};
use crate::settings::Settings;
use crate::state::AppState;
use crate::workers::accounts::{self, SESSION_CONSOLE};

/// The session cookie's name without its prefix.
pub const SESSION: &str = "session";
/// Binds the sign-in forms' anti-forgery token before there is a session.
pub const PRESIGN: &str = "presign";
/// The pending second step of a sign-in (a challenge token, 10 minutes).
pub const CHALLENGE: &str = "challenge";

fn https(settings: &Settings) -> bool {
    settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
}

/// `__Host-signpost_<base>` behind https (the browser then insists on `Secure`, `Path=/`
/// and no `Domain`), `signpost_<base>` otherwise.
pub fn cookie_name(settings: &Settings, base: &str) -> String {
    if https(settings) {
        format!("__Host-signpost_{base}")
    } else {
        format!("signpost_{base}")
    }
}

/// `HttpOnly; SameSite=Strict; Path=/`, `Secure` behind https.
pub fn set_cookie(
    settings: &Settings,
    base: &str,
    value: &str,
    max_age_secs: Option<i64>,
) -> Option<HeaderValue> {
    let mut c = format!(
        "{}={value}; HttpOnly; SameSite=Strict; Path=/",
        cookie_name(settings, base)
    );
    if https(settings) {
        c.push_str("; Secure");
    }
    if let Some(s) = max_age_secs {
        c.push_str(&format!("; Max-Age={s}"));
    }
    HeaderValue::from_str(&c).ok()
}

pub fn clear_cookie(settings: &Settings, base: &str) -> Option<HeaderValue> {
    set_cookie(settings, base, "", Some(0))
}

pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A signed-in console user.
pub struct ConsoleSession {
    pub worker: worker::Model,
    pub session: worker_session::Model,
    /// The anti-forgery token for this session's forms.
    pub csrf: String,
}

impl ConsoleSession {
    pub fn me(&self) -> Me {
        Me {
            name: self.worker.name.clone(),
            csrf: self.csrf.clone(),
            sees_reports: crate::reports::scope_for(&self.worker.role, self.worker.organisation_id)
                .is_some(),
            sees_team: self.leads(),
        }
    }

    /// Coordinators and admins.
    pub fn leads(&self) -> bool {
        matches!(self.worker.role.as_str(), "coordinator" | "admin")
    }
}

/// Starts a console session for a worker who has passed every step of sign-in; returns
/// the `Set-Cookie` value.
pub async fn start(state: &AppState, worker_id: uuid::Uuid) -> ConsoleResult<HeaderValue> {
    let (token, _) = accounts::start_session_of_kind(
        &state.db,
        worker_id,
        state.settings.session_hours,
        state.clock.now(),
        SESSION_CONSOLE,
    )
    .await?;
    set_cookie(&state.settings, SESSION, &token, None).ok_or_else(super::error::internal)
}

/// The session behind the request's cookie. `touch` records the request as activity (a
/// page the worker opened or a form they sent, not the inbox's background refresh).
pub async fn load(
    headers: &HeaderMap,
    state: &AppState,
    touch: bool,
) -> ConsoleResult<ConsoleSession> {
    let name = cookie_name(&state.settings, SESSION);
    let not_signed_in = |idle| ConsoleError::SignIn {
        idle,
        clear_cookie: clear_cookie(&state.settings, SESSION),
    };
    let Some(token) = read_cookie(headers, &name) else {
        return Err(ConsoleError::SignIn {
            idle: false,
            clear_cookie: None,
        });
    };
    let now = state.clock.now();
    let Some((worker, session)) =
        accounts::worker_for_session_token(&state.db, &token, SESSION_CONSOLE, now).await?
    else {
        return Err(not_signed_in(false));
    };
    let idle = Duration::minutes(i64::from(state.settings.console_idle_minutes));
    let last = session.last_seen_at.unwrap_or(session.created_at);
    if now - last >= idle {
        accounts::revoke(&state.db, session.id, now).await?;
        return Err(not_signed_in(true));
    }
    // Activity is written at most once a minute: the idle limit is in minutes, and a write
    // per page would queue every page behind the disk on SQLite.
    if touch && now - last >= Duration::minutes(1) {
        accounts::touch(&state.db, session.id, now).await?;
    }
    let csrf = csrf::for_session(state, session.id);
    Ok(ConsoleSession {
        worker,
        session,
        csrf,
    })
}

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        load(&parts.headers, state, true).await
    }
}

/// The session, for the inbox's background refresh: does not count as activity.
pub struct Watching(pub ConsoleSession);

impl FromRequestParts<AppState> for Watching {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        load(&parts.headers, state, false).await.map(Self)
    }
}

/// A form sent by a signed-in worker, with its anti-forgery token checked. A form without
/// a valid token is refused with a 403 page before anything is done.
pub struct SignedInForm<T> {
    pub me: ConsoleSession,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SignedInForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let me = ConsoleSession::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| {
                ConsoleError::page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "This is too long to send",
                    "Nothing was changed. Shorten what you wrote, then send it again.",
                )
            })?;
        let token: csrf::CsrfField = serde_html_form::from_bytes(&bytes).unwrap_or_default();
        if !csrf::matches(&me.csrf, &token.csrf) {
            return Err(forged_form());
        }
        let form = serde_html_form::from_bytes(&bytes).map_err(|_| {
            ConsoleError::page(
                StatusCode::BAD_REQUEST,
                "This form was not complete",
                "Nothing was changed. Go back, reload the page, and try again.",
            )
        })?;
        Ok(Self { me, form })
    }
}

/// A sign-in form (before there is a session), with its anti-forgery token checked
/// against the pre-session cookie.
pub struct SignInForm<T> {
    pub headers: HeaderMap,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SignInForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| forged_form())?;
        let token: csrf::CsrfField = serde_html_form::from_bytes(&bytes).unwrap_or_default();
        csrf::check_presign(state, &headers, &token.csrf)?;
        let form = serde_html_form::from_bytes(&bytes).map_err(|_| {
            ConsoleError::page(
                StatusCode::BAD_REQUEST,
                "This form was not complete",
                "Go back, reload the page, and try again.",
            )
            .next("/console/sign-in", "Go to the sign-in page")
        })?;
        Ok(Self { headers, form })
    }
}
