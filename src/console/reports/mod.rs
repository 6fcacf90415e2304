//! Reports of wrong listings: what people using the app said is wrong with a service,
//! newest first, open ones unless asked for the resolved, with a form to mark each one
//! dealt with. Who sees which is the JSON routes' rule ([`reports::scope_for`]): admins
//! every organisation's, coordinators their own; a youth worker gets a 403 page.
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::CsrfField;
use super::error::{ConsoleError, ConsoleResult, not_found};
use super::session::{ConsoleSession, SignedInForm};
use super::{Layout, ago, london, render};
use crate::paging::PageQuery;
use crate::reports::{self, Scope};
use crate::state::AppState;

pub const PER_PAGE: u32 = 25;

#[derive(Template)]
#[template(path = "reports/page.html")]
struct ReportsPage {
    layout: Layout,
    csrf: String,
    /// `open` or `resolved`.
    state: &'static str,
    rows: Vec<Row>,
    total: u64,
    page: u32,
    pages: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// One report as a line on the page.
pub struct Row {
    pub id: String,
    pub service: String,
    pub reason: &'static str,
    pub details: Option<String>,
    pub at: String,
    pub ago: String,
    pub resolved_at: Option<String>,
    pub open: bool,
}

/// The filters, from the query string.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    state: String,
    #[serde(default)]
    page: Option<String>,
}

/// Why a listing is wrong, in plain words.
pub fn reason_words(reason: &str) -> &'static str {
    match reason {
        "closed" => "Closed or stopped running",
        "wrong_details" => "Wrong phone, email, address or website",
        "wrong_times" => "Wrong opening times",
        "wrong_eligibility" => "Wrong ages, cost or who it is for",
        "unsafe" => "Does not feel safe",
        _ => "Something else",
    }
}

/// The same page for every role that may not see reports.
fn forbidden() -> ConsoleError {
    ConsoleError::page(
        StatusCode::FORBIDDEN,
        "Only coordinators and admins see reports",
        "Reports of wrong listings are dealt with by coordinators and admins. If you think a \
         listing is wrong, tell your coordinator.",
    )
}

fn scope(me: &ConsoleSession) -> ConsoleResult<Scope> {
    reports::scope_for(&me.worker.role, me.worker.organisation_id).ok_or_else(forbidden)
}

fn bad_filter() -> ConsoleError {
    ConsoleError::page(
        StatusCode::BAD_REQUEST,
        "That filter is not one the reports page knows",
        "Choose open or dealt with from the reports page.",
    )
    .next("/console/reports", "Go to the reports")
}

fn check(p: &Params) -> ConsoleResult<(&'static str, u32)> {
    let state = match p.state.trim() {
        "" | "open" => "open",
        "resolved" => "resolved",
        _ => return Err(bad_filter()),
    };
    let page = match p.page.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 1,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(bad_filter)?,
    };
    Ok((state, page))
}

fn href(state: &str, page: u32) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if state != "open" {
        q.append_pair("state", state);
    }
    if page > 1 {
        q.append_pair("page", &page.to_string());
    }
    let q = q.finish();
    if q.is_empty() {
        "/console/reports".to_string()
    } else {
        format!("/console/reports?{q}")
    }
}

/// `GET /console/reports?state=open|resolved&page=`.
pub async fn page(
    State(state): State<AppState>,
    me: ConsoleSession,
    Query(p): Query<Params>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let (which, page) = check(&p)?;
    let paging = PageQuery {
        page: Some(page),
        per_page: Some(PER_PAGE),
    };
    let dir = state.directory.load();
    let found = reports::list(&state.db, &state.keys, scope, Some(which), &paging, |id| {
        dir.by_id.get(&id).map(|&i| dir.services[i].name.clone())
    })
    .await?;
    let now = state.clock.now();
    let rows = found
        .contents
        .into_iter()
        .map(|r| Row {
            id: r.id.to_string(),
            service: r
                .service_name
                .unwrap_or_else(|| "A service that is no longer listed".into()),
            reason: reason_words(&r.reason),
            details: r.details,
            at: london(r.created_at),
            ago: ago(now, r.created_at),
            resolved_at: r.resolved_at.map(london),
            open: r.state == "open",
        })
        .collect();
    let pages = found.total_pages.max(1);
    let view = ReportsPage {
        layout: Layout::new("Reports of wrong listings", Some(me.me())),
        csrf: me.csrf.clone(),
        state: which,
        rows,
        total: found.total_items,
        page,
        pages,
        prev_href: (page > 1).then(|| href(which, page - 1)),
        next_href: (u64::from(page) < pages).then(|| href(which, page + 1)),
    };
    Ok(render(StatusCode::OK, &view))
}

/// `POST /console/reports/{id}/resolve` (`csrf`): marks it dealt with, back to the list.
/// An unknown id and another organisation's report are the same 404 page.
pub async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
    if reports::resolve(&state.db, scope, id, me.worker.id, state.clock.now()).await? {
        Ok(Redirect::to("/console/reports").into_response())
    } else {
        Err(not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_plain_words() {
        for (reason, words) in [
            (reports::Reason::Closed, "Closed or stopped running"),
            (
                reports::Reason::WrongDetails,
                "Wrong phone, email, address or website",
            ),
            (reports::Reason::WrongTimes, "Wrong opening times"),
            (
                reports::Reason::WrongEligibility,
                "Wrong ages, cost or who it is for",
            ),
            (reports::Reason::Unsafe, "Does not feel safe"),
            (reports::Reason::Other, "Something else"),
        ] {
            assert_eq!(reason_words(reason.as_str()), words);
        }
        assert_eq!(href("open", 1), "/console/reports");
        assert_eq!(
            href("resolved", 2),
            "/console/reports?state=resolved&page=2"
        );
    }
}
