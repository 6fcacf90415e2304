//! Moving a referral to another team (coordinators and admins), one thing on its own page:
//! which organisation, and why (a private note for the team; the young person is told in
//! their thread that it has moved, by [`inbox::transfer`]).
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{here, parse_id};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::{ConsoleSession, SignedInForm};
use crate::console::team::lead_only;
use crate::console::{Layout, render};
use crate::state::AppState;
use crate::workers::{inbox, team};

#[derive(Template)]
#[template(path = "referral/transfer.html")]
struct TransferPage {
    layout: Layout,
    id: String,
    csrf: String,
    reference: String,
    targets: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "referral/transferred.html")]
struct TransferredPage {
    layout: Layout,
    reference: String,
    to: String,
}

/// `GET /console/referrals/{id}/transfer`.
pub async fn form(
    State(state): State<AppState>,
    me: ConsoleSession,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    // Another team's referral is the same 404 for everyone, coordinator or not.
    let r = inbox::find(&state.db, me.worker.organisation_id, id).await?;
    lead_only(&me).map_err(here(id))?;
    if !crate::referrals::service::is_open(&r.status) {
        return Err(here(id)(ConsoleError::page(
            StatusCode::CONFLICT,
            "This referral is closed",
            "A closed referral stays with the team that closed it.",
        )));
    }
    let targets = team::transfer_targets(&state, me.worker.organisation_id)
        .await?
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    let page = TransferPage {
        layout: Layout::new(
            &format!("Move {} to another team", r.reference),
            Some(me.me()),
        ),
        id: id.to_string(),
        csrf: me.csrf.clone(),
        reference: r.reference,
        targets,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    organisation_id: String,
    #[serde(default)]
    reason: String,
}

fn field(title: &str, next: &str, id: Uuid) -> ConsoleError {
    ConsoleError::page(StatusCode::UNPROCESSABLE_ENTITY, title, next).next(
        format!("/console/referrals/{id}/transfer"),
        "Go back to the form",
    )
}

/// `POST /console/referrals/{id}/transfer` (`organisation_id`, `reason`, `csrf`). The
/// referral leaves this team's inbox, so the answer is a page saying where it went.
pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, form }: SignedInForm<TransferForm>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    let r = inbox::find(&state.db, me.worker.organisation_id, id).await?;
    lead_only(&me).map_err(here(id))?;
    let Ok(to) = Uuid::parse_str(form.organisation_id.trim()) else {
        return Err(field(
            "Choose a team to move it to",
            "Nothing was changed. Choose one of the teams listed.",
            id,
        ));
    };
    let reason = form.reason.trim();
    if reason.is_empty() {
        return Err(field(
            "Say why it is moving",
            "Nothing was changed. Write a short reason for your team's records.",
            id,
        ));
    }
    if reason.chars().count() > 2000 {
        return Err(field(
            "The reason is too long",
            "Nothing was changed. Shorten the reason to 2,000 characters or fewer.",
            id,
        ));
    }
    inbox::transfer(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        id,
        to,
        reason,
    )
    .await
    .map_err(|e| {
        let e: ConsoleError = e.into();
        match e {
            ConsoleError::Page { status, .. } if status == StatusCode::NOT_FOUND => e,
            e => e.next(
                format!("/console/referrals/{id}/transfer"),
                "Go back to the form",
            ),
        }
    })?;
    let dir = state.directory.load();
    let to_name = dir
        .organisations_by_id
        .get(&to)
        .map(|&i| dir.organisations[i].name.clone())
        .unwrap_or_else(|| "the other team".into());
    let page = TransferredPage {
        layout: Layout::new(&format!("{} has moved", r.reference), Some(me.me())),
        reference: r.reference,
        to: to_name,
    };
    Ok(render(StatusCode::OK, &page))
}
