//! One referral: what the young person asked, how to reach them safely, why it is urgent,
//! the thread and a reply box, private notes apart, claim and release, status and outcome,
//! the audit timeline, and the help lines they were shown. Another organisation's
//! referral is the same 404 page as an unknown id. Every action is a form that comes back
//! here (303), with only the id in the address.
pub mod transfer;

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::CsrfField;
use super::error::{ConsoleError, ConsoleResult, not_found};
use super::inbox::{Clock, age_band, borough_name, clock, status_label};
use super::session::{ConsoleSession, SignedInForm};
use super::{Layout, london, render};
use crate::help::{self, HelpLine};
use crate::referrals::model::ContactMethod;
use crate::referrals::service;
use crate::state::AppState;
use crate::workers::inbox;
use crate::workers::model::{NewStatus, Outcome};

pub struct Message {
    pub from: &'static str,
    pub who: String,
    pub class: &'static str,
    pub body: String,
    pub at: String,
}

pub struct Event {
    pub what: String,
    pub who: Option<String>,
    pub at: String,
}

pub struct ContactView {
    pub how: &'static str,
    pub value: Option<String>,
    pub safe_times: Option<String>,
    pub no_message: bool,
}

#[derive(Template)]
#[template(path = "referral/page.html")]
struct ReferralPage {
    layout: Layout,
    id: String,
    csrf: String,
    reference: String,
    urgent: bool,
    status: &'static str,
    open: bool,
    clock: Option<Clock>,
    needs: Vec<String>,
    message: Option<String>,
    age: Option<String>,
    where_: Option<String>,
    borough: Option<String>,
    received: String,
    contact: Option<ContactView>,
    why_urgent: Vec<String>,
    claimed_by: Option<String>,
    can_claim: bool,
    can_release: bool,
    /// Coordinators and admins may move an open referral to another team.
    can_transfer: bool,
    outcome: Option<&'static str>,
    thread: Vec<Message>,
    notes: Vec<Message>,
    events: Vec<Event>,
    help: Vec<HelpLine>,
    seen_at: Option<String>,
    outcomes: Vec<(&'static str, &'static str)>,
}

fn parse_id(raw: &str) -> ConsoleResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| not_found())
}

pub fn outcome_label(o: &str) -> &'static str {
    match o {
        "supported" => "We supported them",
        "referred_on" => "We referred them on to another service",
        "no_contact" => "We could not get in touch",
        "duplicate" => "A repeat of another referral",
        "not_appropriate" => "Not something we can help with",
        _ => "Other",
    }
}

const OUTCOMES: [&str; 5] = [
    "supported",
    "referred_on",
    "no_contact",
    "duplicate",
    "not_appropriate",
];

fn event_label(kind: &str, detail: Option<&str>) -> String {
    match kind {
        "received" => "Referral received".into(),
        "assigned" => "Sent to this team".into(),
        "viewed" => "Opened".into(),
        "claimed" => "Taken".into(),
        "released" => match detail {
            Some("account deactivated") => {
                "Given back to the team: the account that held it was closed".into()
            }
            _ => "Given back to the team".into(),
        },
        "worker_message" => "Reply sent".into(),
        "young_person_message" => "The young person wrote".into(),
        "note" => "Private note added".into(),
        "status" => match detail.and_then(|d| d.split_once(':')) {
            Some(("closed", o)) => format!("Closed: {}", outcome_label(o)),
            _ => match detail {
                Some("in_progress") => "Marked in progress".into(),
                Some(d) => format!("Status changed to {}", status_label(d)),
                None => "Status changed".into(),
            },
        },
        "transferred" => "Moved to another team".into(),
        "claimed_for" => match detail {
            Some(name) => format!("Given to {name} by their coordinator"),
            None => "Given to someone in the team by their coordinator".into(),
        },
        "escalated" => "Escalated: nobody had taken it in time".into(),
        "reminder" => "Reminder sent: nobody had taken it".into(),
        "withdrawn" => "Withdrawn by the young person".into(),
        "receipt_replaced" => "The young person replaced their receipt".into(),
        other => other.replace('_', " "),
    }
}

/// `GET /console/referrals/{id}`.
pub async fn page(
    State(state): State<AppState>,
    me: ConsoleSession,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    let org = me.worker.organisation_id;
    // Scoped to the organisation: another team's referral is not found, like an unknown id.
    let row = inbox::find(&state.db, org, id).await?;
    let d = inbox::detail_of(&state, &row, me.worker.id).await?;
    let now = state.clock.now();
    let urgent = d.item.urgency == service::URGENT;

    let needs: Vec<String> = d.needs_named.iter().map(|n| n.name.clone()).collect();
    let slugs: Vec<String> = d.needs_named.iter().map(|n| n.slug.clone()).collect();
    let triage = state
        .referral_rules
        .triage(d.message.as_deref().unwrap_or_default(), &slugs);
    let mut why_urgent = Vec::new();
    if urgent {
        if d.in_danger_now {
            why_urgent.push("They said they are in danger now.".to_string());
        }
        for n in d.needs_named.iter().filter(|n| {
            state
                .referral_rules
                .need(&n.slug)
                .is_some_and(|need| need.urgent)
        }) {
            why_urgent.push(format!(
                "They chose a need that is always urgent: {}.",
                n.name
            ));
        }
        if !triage.urgent_words.is_empty() {
            let quoted: Vec<String> = triage
                .urgent_words
                .iter()
                .map(|w| format!("\u{201c}{w}\u{201d}"))
                .collect();
            why_urgent.push(format!(
                "Their message has words that can mean danger: {}.",
                quoted.join(", ")
            ));
        }
    }
    let help = help::ordered_for(&state.catalogue.load().help, urgent, &triage.topics);

    let contact = d.contact.as_ref().map(|c| ContactView {
        how: match c.method {
            ContactMethod::App => "Reply here: they read your replies in the app",
            ContactMethod::Phone => "Phone call",
            ContactMethod::Text => "Text message",
            ContactMethod::Email => "Email",
        },
        value: c.value.clone(),
        safe_times: c.safe_times.clone(),
        no_message: !c.ok_to_leave_message && c.method != ContactMethod::App,
    });

    let mut thread = Vec::new();
    let mut notes = Vec::new();
    for m in d.thread {
        let name = m.worker.map(|w| w.name).unwrap_or_default();
        let (from, who, class) = match m.from.as_str() {
            "young_person" => ("young_person", "The young person".to_string(), "from-them"),
            "note" => ("note", name, "note"),
            "signpost" => ("signpost", "Signpost".to_string(), "from-signpost"),
            _ => ("youth_worker", name, "from-us"),
        };
        let msg = Message {
            from,
            who,
            class,
            body: m.body,
            at: london(m.sent_at),
        };
        if from == "note" {
            notes.push(msg);
        } else {
            thread.push(msg);
        }
    }
    let events = d
        .events
        .iter()
        .map(|e| Event {
            what: event_label(&e.kind, e.detail.as_deref()),
            who: e.worker.as_ref().map(|w| w.name.clone()),
            at: london(e.at),
        })
        .collect();
    let open = service::is_open(&d.item.status);
    let holder = d.item.claimed_by.as_ref().map(|w| w.id);
    let page = ReferralPage {
        layout: Layout::new(&format!("Referral {}", d.item.reference), Some(me.me())),
        id: id.to_string(),
        csrf: me.csrf.clone(),
        reference: d.item.reference.clone(),
        urgent,
        status: status_label(&d.item.status),
        open,
        clock: clock(&state, &row, now),
        needs,
        message: d.message,
        age: d.age.map(|a| format!("{a} ({})", age_band(a))),
        where_: d.where_,
        borough: borough_name(&state, d.item.borough.as_deref()),
        received: london(d.item.created_at),
        contact,
        why_urgent,
        claimed_by: d.item.claimed_by.map(|w| w.name),
        can_claim: open && holder.is_none(),
        can_release: open && holder.is_some_and(|h| h == me.worker.id || me.leads()),
        can_transfer: open && me.leads(),
        outcome: d.outcome.as_deref().map(outcome_label),
        thread,
        notes,
        events,
        help,
        seen_at: row.young_person_seen_at.map(london),
        outcomes: OUTCOMES.iter().map(|o| (*o, outcome_label(o))).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

fn back(id: Uuid, anchor: &str) -> Response {
    Redirect::to(&format!("/console/referrals/{id}{anchor}")).into_response()
}

/// An error page that leads back to the referral (a 404 stays the plain 404 page).
fn here(id: Uuid) -> impl Fn(ConsoleError) -> ConsoleError {
    move |e| match e {
        ConsoleError::Page { status, .. } if status == StatusCode::NOT_FOUND => e,
        e => e.next(
            format!("/console/referrals/{id}"),
            "Go back to the referral",
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct Body {
    #[serde(default)]
    body: String,
}

fn empty(what: &str) -> ConsoleError {
    ConsoleError::page(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("Your {what} is empty"),
        format!("Nothing was sent. Go back and write your {what}."),
    )
}

fn too_long(what: &str) -> ConsoleError {
    ConsoleError::page(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("Your {what} is too long"),
        format!("Nothing was sent. Go back and shorten your {what} to 4,000 characters or fewer."),
    )
}

fn checked_text(raw: &str, what: &str) -> ConsoleResult<String> {
    let body = raw.trim();
    if body.is_empty() {
        return Err(empty(what));
    }
    if body.chars().count() > 4000 {
        return Err(too_long(what));
    }
    Ok(body.to_string())
}

/// `POST /console/referrals/{id}/reply` (`body`, `csrf`): to the young person.
pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, form }: SignedInForm<Body>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    let body = checked_text(&form.body, "reply").map_err(here(id))?;
    inbox::write(&state, me.worker.organisation_id, me.worker.id, id, &body)
        .await
        .map_err(|e| here(id)(e.into()))?;
    Ok(back(id, "#thread"))
}

/// `POST /console/referrals/{id}/note` (`body`, `csrf`): private, for the team.
pub async fn note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, form }: SignedInForm<Body>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    let body = checked_text(&form.body, "note").map_err(here(id))?;
    inbox::note(&state, me.worker.organisation_id, me.worker.id, id, &body)
        .await
        .map_err(|e| here(id)(e.into()))?;
    Ok(back(id, "#notes"))
}

/// `POST /console/referrals/{id}/claim` (`csrf`).
pub async fn claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    inbox::claim(&state, me.worker.organisation_id, me.worker.id, id)
        .await
        .map_err(|e| here(id)(e.into()))?;
    Ok(back(id, ""))
}

/// `POST /console/referrals/{id}/release` (`csrf`).
pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    inbox::release(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        me.leads(),
        id,
    )
    .await
    .map_err(|e| here(id)(e.into()))?;
    Ok(back(id, ""))
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/referrals/{id}/status` (`status` = `in_progress` | `closed`, `outcome`
/// when closing, optional private `note`, `csrf`).
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, form }: SignedInForm<StatusForm>,
) -> ConsoleResult<Response> {
    let id = parse_id(&id)?;
    let bad = |what: &str| {
        here(id)(ConsoleError::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a status",
            format!("Nothing was changed. {what}"),
        ))
    };
    let new_status = match form.status.trim() {
        "in_progress" => NewStatus::InProgress,
        "closed" => NewStatus::Closed,
        _ => return Err(bad("Choose in progress or closed.")),
    };
    let outcome = match form.outcome.trim() {
        "" => None,
        o => Some(
            serde_json::from_value::<Outcome>(serde_json::Value::String(o.to_string()))
                .map_err(|_| bad("Choose one of the outcomes listed."))?,
        ),
    };
    // The same rule as the JSON inbox: closing needs an outcome, and only closing takes one.
    let (status, outcome) = inbox::status_and_outcome(
        new_status,
        if new_status == NewStatus::Closed {
            outcome
        } else {
            None
        },
    )
    .map_err(|e| here(id)(e.into()))?;
    let note = form.note.trim();
    if note.chars().count() > 4000 {
        return Err(here(id)(too_long("note")));
    }
    inbox::change_status(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        id,
        status,
        outcome,
        Some(note).filter(|n| !n.is_empty()),
    )
    .await
    .map_err(|e| here(id)(e.into()))?;
    Ok(back(id, ""))
}
