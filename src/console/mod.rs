//! The youth-worker console: server-rendered pages at `/console` on the same domain
//! functions as the JSON inbox ([`crate::workers`]). Plain forms that work without
//! JavaScript; one stylesheet and one small script, embedded and served under hashed
//! names; nothing from another host.
//!
//! - `assets` — the embedded CSS and script
//! - `headers` — security headers on every answer, the `Origin` check on every form
//! - `session` — the session cookie, idle and absolute limits, form extractors
//! - `csrf` — anti-forgery tokens
//! - `error` — the error pages
//! - `signin`, `inbox`, `referral`, `reports` — the pages, each with its templates beside it
//! - `team` (caseloads), `accounts`, `webhooks` (and undelivered notifications) — the
//!   coordinators' pages; `account` — a worker's own password, codes and sessions;
//!   `set_password` — the one-time link a new account starts from
pub mod account;
pub mod accounts;
pub mod assets;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod inbox;
pub mod referral;
pub mod reports;
pub mod session;
pub mod set_password;
pub mod signin;
pub mod team;
pub mod webhooks;

use askama::Template;
use axum::{
    Router,
    handler::Handler,
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Redirect, Response},
    routing::{MethodRouter, any, get, post},
};
use chrono::{DateTime, Utc};
use chrono_tz::Europe::London;

use crate::state::AppState;

/// The signed-in worker, as the page header shows them.
pub struct Me {
    pub name: String,
    /// The anti-forgery token for the sign-out form.
    pub csrf: String,
    /// Whether the navigation links to the reports of wrong listings.
    pub sees_reports: bool,
    /// Whether the navigation links to the team pages (coordinators and admins).
    pub sees_team: bool,
}

/// What every page's frame needs.
pub struct Layout {
    pub title: String,
    pub css: String,
    pub js: String,
    pub me: Option<Me>,
}

impl Layout {
    pub fn new(title: &str, me: Option<Me>) -> Self {
        Self {
            title: title.to_string(),
            css: assets::css_url(),
            js: assets::js_url(),
            me,
        }
    }
}

const RENDER_FAILED: &str = "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Something went wrong – Signpost console</title></head><body><main><h1>Something went wrong on our side</h1><p>Nothing you did caused this. Try again in a minute. If it keeps happening, tell your coordinator.</p><p><a href=\"/console/inbox\">Go to the inbox</a></p></main></body></html>";

/// A page as HTML; a template that fails to render is logged and answered with a plain
/// error page.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    let (status, html) = match page.render() {
        Ok(html) => (status, html),
        Err(e) => {
            tracing::error!(error = %e, "console: a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, RENDER_FAILED.to_string())
        }
    };
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Every console route, with its headers and the `Origin` check. Opening a form's address
/// leads back to its page; any other method is an error page.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(home).fallback(method_not_allowed))
        .route("/console/", get(home).fallback(method_not_allowed))
        .route(
            "/console/sign-in",
            get(signin::form)
                .post(signin::submit)
                .fallback(method_not_allowed),
        )
        .route(
            "/console/sign-in/code",
            get(signin::code_form)
                .post(signin::code_submit)
                .fallback(method_not_allowed),
        )
        .route(
            "/console/sign-in/enrol",
            get(signin::enrol_form)
                .post(signin::enrol_submit)
                .fallback(method_not_allowed),
        )
        .route(
            "/console/sign-out",
            post(signin::sign_out)
                .get(|| async { Redirect::to("/console") })
                .fallback(method_not_allowed),
        )
        .route(
            "/console/inbox",
            get(inbox::page).fallback(method_not_allowed),
        )
        .route(
            "/console/inbox/rows",
            get(inbox::rows).fallback(method_not_allowed),
        )
        .route(
            "/console/referrals/{id}",
            get(referral::page).fallback(method_not_allowed),
        )
        .route("/console/referrals/{id}/reply", action(referral::reply))
        .route("/console/referrals/{id}/note", action(referral::note))
        .route("/console/referrals/{id}/claim", action(referral::claim))
        .route("/console/referrals/{id}/release", action(referral::release))
        .route("/console/referrals/{id}/status", action(referral::status))
        .route(
            "/console/referrals/{id}/transfer",
            get(referral::transfer::form)
                .post(referral::transfer::submit)
                .fallback(method_not_allowed),
        )
        .route(
            "/console/reports",
            get(reports::page).fallback(method_not_allowed),
        )
        .route(
            "/console/reports/{id}/resolve",
            post(reports::resolve)
                .get(|| async { Redirect::to("/console/reports") })
                .fallback(method_not_allowed),
        )
        .route(
            "/console/assets/{name}",
            get(assets::serve).fallback(method_not_allowed),
        )
        .merge(team::routes())
        .merge(accounts::routes())
        .merge(webhooks::routes())
        .merge(account::routes())
        .merge(set_password::routes())
        .route("/console/{*rest}", any(not_found))
        .layer(middleware::from_fn_with_state(
            state,
            headers::console_headers,
        ))
}

/// A referral's form: POST acts; GET leads back to the referral.
fn action<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler)
        .get(back_to_referral)
        .fallback(method_not_allowed)
}

/// `GET` on a referral's form address (a reload after sending, say): back to the page.
async fn back_to_referral(
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Redirect, error::ConsoleError> {
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| error::not_found())?;
    Ok(Redirect::to(&format!("/console/referrals/{id}")))
}

async fn method_not_allowed() -> error::ConsoleError {
    error::ConsoleError::page(
        StatusCode::METHOD_NOT_ALLOWED,
        "This page cannot be used like that",
        "Nothing was changed. Go to the inbox and start from there.",
    )
}

/// `/console`: the inbox when signed in, else the sign-in page.
async fn home(session: Result<session::ConsoleSession, error::ConsoleError>) -> Redirect {
    match session {
        Ok(_) => Redirect::to("/console/inbox"),
        Err(_) => Redirect::to("/console/sign-in"),
    }
}

async fn not_found() -> error::ConsoleError {
    error::not_found()
}

/// A time as people in London read it: `Mon 15 Jun 2026, 13:00`.
pub fn london(at: DateTime<Utc>) -> String {
    at.with_timezone(&London)
        .format("%a %-d %b %Y, %H:%M")
        .to_string()
}

/// Just the London time of day when it is today, else the date too.
pub fn london_short(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = at.with_timezone(&London);
    if local.date_naive() == now.with_timezone(&London).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%-d %b, %H:%M").to_string()
    }
}

/// A length of time in plain words: `6 min`, `3 h`, `1 day`, `1 day 23 h`, `4 days`.
pub fn span(d: chrono::Duration) -> String {
    let mins = d.num_minutes().max(0);
    if mins < 1 {
        return "less than a minute".into();
    }
    if mins < 60 {
        return format!("{mins} min");
    }
    let hours = mins / 60;
    if hours < 24 {
        return format!("{hours} h");
    }
    let (days, hours) = (hours / 24, hours % 24);
    let days = if days == 1 {
        "1 day".to_string()
    } else {
        format!("{days} days")
    };
    if hours == 0 {
        days
    } else {
        format!("{days} {hours} h")
    }
}

/// How long ago: `just now`, `12 min ago`, `3 h ago`, `2 days ago`.
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let d = now - then;
    if d.num_minutes() < 1 {
        "just now".into()
    } else {
        format!("{} ago", span(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn plain_times() {
        assert_eq!(span(chrono::Duration::minutes(6)), "6 min");
        assert_eq!(span(chrono::Duration::minutes(185)), "3 h");
        assert_eq!(span(chrono::Duration::hours(23)), "23 h");
        assert_eq!(span(chrono::Duration::minutes(24 * 60 + 9)), "1 day");
        assert_eq!(span(chrono::Duration::hours(47)), "1 day 23 h");
        assert_eq!(span(chrono::Duration::hours(72)), "3 days");
        assert_eq!(span(chrono::Duration::hours(-1)), "less than a minute");
        // 12:00 UTC in June is 13:00 in London.
        let t = Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap();
        assert_eq!(london(t), "Mon 15 Jun 2026, 13:00");
        assert_eq!(london_short(t, t), "13:00");
    }
}
