//! The team pages, for coordinators and admins (of their own organisation). This one:
//! each worker's open caseload and what of it is overdue, urgent referrals nobody has
//! taken, routine ones past their promised answer, and "give it to" a worker. Accounts,
//! webhooks and undelivered notifications have their own folders. A youth worker gets a
//! 403 page and never sees the links.
use askama::Template;
use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::error::{ConsoleError, ConsoleResult, not_found};
use super::inbox::{Clock, clock, need_names};
use super::session::{ConsoleSession, SignedInForm};
use super::{Layout, ago, london, method_not_allowed, render};
use crate::entities::referral;
use crate::referrals::service;
use crate::state::AppState;
use crate::workers::team;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/team", get(page).fallback(method_not_allowed))
        .route(
            "/console/team/claim",
            post(claim_for)
                .get(|| async { Redirect::to("/console/team") })
                .fallback(method_not_allowed),
        )
}

/// The one rule for every team page: coordinators and admins only.
pub fn lead_only(me: &ConsoleSession) -> ConsoleResult<()> {
    if me.leads() {
        Ok(())
    } else {
        Err(ConsoleError::page(
            StatusCode::FORBIDDEN,
            "Only coordinators manage the team",
            "Team pages are for your coordinator. If something about your account needs \
             changing, ask them.",
        )
        .next("/console/inbox", "Go to the inbox"))
    }
}

/// Which team page is open, for the team navigation (`team_nav.html`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TeamTab {
    Overview,
    Accounts,
    Webhooks,
    Notifications,
}

pub struct CaseloadRow {
    pub name: String,
    pub role: &'static str,
    pub open: u64,
    pub overdue: u64,
}

pub struct CaseRow {
    pub id: String,
    pub reference: String,
    pub urgent: bool,
    pub needs: String,
    pub received_ago: String,
    pub received_at: String,
    pub clock: Option<Clock>,
    pub holder: Option<String>,
}

#[derive(Template)]
#[template(path = "team/page.html")]
struct TeamPage {
    layout: Layout,
    tab: TeamTab,
    csrf: String,
    caseloads: Vec<CaseloadRow>,
    /// (id, name) of everyone a referral can be given to.
    members: Vec<(String, String)>,
    unclaimed_urgent: Vec<CaseRow>,
    unclaimed_urgent_total: u64,
    overdue_routine: Vec<CaseRow>,
    overdue_routine_total: u64,
    limit: u64,
}

pub fn role_label(role: &str) -> &'static str {
    match role {
        "coordinator" => "Coordinator",
        "admin" => "Admin",
        _ => "Youth worker",
    }
}

fn case_row(
    state: &AppState,
    r: &referral::Model,
    names: &std::collections::HashMap<Uuid, String>,
    now: chrono::DateTime<chrono::Utc>,
) -> CaseRow {
    let needs: Vec<String> = serde_json::from_str(&r.needs).unwrap_or_default();
    CaseRow {
        id: r.id.to_string(),
        reference: r.reference.clone(),
        urgent: r.urgency == service::URGENT,
        needs: need_names(state, &needs),
        received_ago: ago(now, r.created_at),
        received_at: london(r.created_at),
        clock: clock(state, r, now),
        holder: r.claimed_by.and_then(|w| names.get(&w).cloned()),
    }
}

/// `GET /console/team`.
pub async fn page(State(state): State<AppState>, me: ConsoleSession) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let org = me.worker.organisation_id;
    let o = team::overview(&state, org).await?;
    let names: std::collections::HashMap<Uuid, String> = o
        .caseloads
        .iter()
        .map(|c| (c.worker_id, c.name.clone()))
        .collect();
    let now = state.clock.now();
    let mut members: Vec<(String, String)> = o
        .caseloads
        .iter()
        .map(|c| (c.worker_id.to_string(), c.name.clone()))
        .collect();
    members.sort_by(|a, b| a.1.cmp(&b.1));
    let view = TeamPage {
        layout: Layout::new("Your team", Some(me.me())),
        tab: TeamTab::Overview,
        csrf: me.csrf.clone(),
        caseloads: o
            .caseloads
            .iter()
            .map(|c| CaseloadRow {
                name: c.name.clone(),
                role: role_label(&c.role),
                open: c.open,
                overdue: c.overdue,
            })
            .collect(),
        members,
        unclaimed_urgent: o
            .unclaimed_urgent
            .iter()
            .map(|r| case_row(&state, r, &names, now))
            .collect(),
        unclaimed_urgent_total: o.unclaimed_urgent_total,
        overdue_routine: o
            .overdue_routine
            .iter()
            .map(|r| case_row(&state, r, &names, now))
            .collect(),
        overdue_routine_total: o.overdue_routine_total,
        limit: team::LIST_LIMIT,
    };
    Ok(render(StatusCode::OK, &view))
}

#[derive(Debug, Deserialize)]
pub struct ClaimFor {
    #[serde(default)]
    referral_id: String,
    #[serde(default)]
    worker_id: String,
}

/// `POST /console/team/claim` (`referral_id`, `worker_id`, `csrf`): gives an unclaimed
/// referral to someone in the team, then back to the team page.
pub async fn claim_for(
    State(state): State<AppState>,
    SignedInForm { me, form }: SignedInForm<ClaimFor>,
) -> ConsoleResult<Response> {
    lead_only(&me)?;
    let referral = Uuid::parse_str(form.referral_id.trim()).map_err(|_| not_found())?;
    let Ok(holder) = Uuid::parse_str(form.worker_id.trim()) else {
        return Err(ConsoleError::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose who to give it to",
            "Nothing was changed. Go back and choose someone in your team from the list.",
        )
        .next("/console/team", "Go back to the team page"));
    };
    team::claim_for(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        holder,
        referral,
    )
    .await
    .map_err(|e| {
        let e: ConsoleError = e.into();
        match e {
            ConsoleError::Page { status, .. } if status == StatusCode::NOT_FOUND => e,
            e => e.next("/console/team", "Go back to the team page"),
        }
    })?;
    Ok(Redirect::to("/console/team").into_response())
}
