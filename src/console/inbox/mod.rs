//! The inbox: the organisation's referrals, urgent first then oldest, with the clock that
//! matters on each and a "New message" mark when the young person has written since this
//! worker last opened it; filters in the query string (status, urgency, need, mine,
//! unclaimed, waiting for us), paging, find by reference (`?reference=`), and a fragment
//! the page's script fetches every 20 seconds (the page works without it).
use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::session::{ConsoleSession, Watching};
use super::{Layout, ago, london, render, span};
use crate::entities::referral;
use crate::referrals::service;
use crate::state::AppState;
use crate::workers::inbox::{self, Filter};
use crate::workers::model::InboxItem;

pub const PER_PAGE: u32 = 25;

#[derive(Template)]
#[template(path = "inbox/page.html")]
struct InboxPage {
    layout: Layout,
    title: String,
    list: String,
    status: String,
    urgency: String,
    mine: bool,
    unclaimed: bool,
    need: String,
    waiting: bool,
    statuses: Vec<(&'static str, &'static str)>,
    needs: Vec<(String, String)>,
    fragment_url: String,
    /// What was typed in "Find by reference", kept when it found nothing.
    reference: String,
    /// Why "Find by reference" found nothing.
    find_error: Option<&'static str>,
    /// The filters in force, to keep them when finding by reference.
    kept: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "inbox/rows.html")]
struct Rows {
    rows: Vec<Row>,
    total: u64,
    page: u32,
    pages: u64,
    title: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    filtered: bool,
}

/// One referral as an inbox line.
pub struct Row {
    pub id: String,
    pub reference: String,
    pub urgent: bool,
    pub needs: String,
    pub borough: Option<String>,
    pub age_band: Option<&'static str>,
    pub status: &'static str,
    pub claimed_by: Option<String>,
    pub received_ago: String,
    pub received_at: String,
    pub clock: Option<Clock>,
    /// The young person has written since this worker last opened it.
    pub unread: bool,
}

/// The deadline that matters now.
pub struct Clock {
    pub text: String,
    /// `due`, `soon` or `overdue`, for the colour (the words say it too).
    pub class: &'static str,
}

/// The filters, from the query string.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    status: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    mine: Option<String>,
    #[serde(default)]
    unclaimed: Option<String>,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    need: String,
    #[serde(default)]
    waiting: Option<String>,
    /// Find by reference: present when that form was sent.
    #[serde(default)]
    reference: Option<String>,
}

struct Checked {
    status: Option<&'static str>,
    urgency: Option<&'static str>,
    mine: bool,
    unclaimed: bool,
    need: Option<String>,
    waiting: bool,
    page: u32,
}

/// A filter value the inbox does not know (an edited or stale address), naming the
/// filter: `field` is its name in the address, `label` its name on the page.
fn bad_filter(field: &str, label: &str) -> ConsoleError {
    ConsoleError::page(
        StatusCode::BAD_REQUEST,
        "That filter is not one the inbox knows",
        format!(
            "The \u{201c}{label}\u{201d} filter ({field}) has a value the inbox does not know. \
             Choose the filters again from the inbox."
        ),
    )
}

/// A tick box: on when sent with any value but empty or `0`; anything but `1`, `0`,
/// `on`, `true`, `false` or nothing is a bad filter.
fn tick(v: Option<&str>, field: &str, label: &str) -> ConsoleResult<bool> {
    match v.map(str::trim) {
        None | Some("" | "0" | "false") => Ok(false),
        Some("1" | "on" | "true") => Ok(true),
        Some(_) => Err(bad_filter(field, label)),
    }
}

fn check(state: &AppState, p: &Params) -> ConsoleResult<Checked> {
    let status = match p.status.trim() {
        "" => None,
        s => Some(
            *inbox::STATUSES
                .iter()
                .find(|x| **x == s)
                .ok_or_else(|| bad_filter("status", "Status"))?,
        ),
    };
    let urgency = match p.urgency.trim() {
        "" => None,
        "urgent" => Some(service::URGENT),
        "routine" => Some(service::ROUTINE),
        _ => return Err(bad_filter("urgency", "Urgency")),
    };
    let need = match p.need.trim() {
        "" => None,
        raw => Some(
            inbox::need_slug(state, raw)
                .ok_or_else(|| bad_filter("need", "Need"))?
                .to_string(),
        ),
    };
    let page = match p.page.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 1,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| bad_filter("page", "Page"))?,
    };
    Ok(Checked {
        status,
        urgency,
        mine: tick(p.mine.as_deref(), "mine", "Taken by me")?,
        unclaimed: tick(p.unclaimed.as_deref(), "unclaimed", "Nobody has taken it")?,
        need,
        waiting: tick(p.waiting.as_deref(), "waiting", "Waiting for us")?,
        page,
    })
}

/// The filters in force as (name, value), in the order the address carries them.
fn kept(c: &Checked) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(s) = c.status {
        q.push(("status", s.to_string()));
    }
    if let Some(u) = c.urgency {
        q.push(("urgency", u.to_string()));
    }
    if let Some(n) = &c.need {
        q.push(("need", n.clone()));
    }
    if c.mine {
        q.push(("mine", "1".to_string()));
    }
    if c.unclaimed {
        q.push(("unclaimed", "1".to_string()));
    }
    if c.waiting {
        q.push(("waiting", "1".to_string()));
    }
    q
}

fn query_string(c: &Checked, page: u32) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in kept(c) {
        q.append_pair(k, &v);
    }
    if page > 1 {
        q.append_pair("page", &page.to_string());
    }
    q.finish()
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "received" | "assigned" => "Waiting",
        "claimed" => "Taken",
        "in_progress" => "In progress",
        "closed" => "Closed",
        "withdrawn" => "Withdrawn",
        _ => "Unknown",
    }
}

pub fn age_band(age: u8) -> &'static str {
    match age {
        0..=9 => "under 10",
        10..=13 => "10–13",
        14..=15 => "14–15",
        16..=17 => "16–17",
        18..=20 => "18–20",
        21..=25 => "21–25",
        _ => "over 25",
    }
}

/// The clock that matters: until an unclaimed urgent referral is escalated; otherwise
/// until the answer the young person was promised is due. None once it is in progress
/// or closed.
pub fn clock(state: &AppState, r: &referral::Model, now: DateTime<Utc>) -> Option<Clock> {
    if !service::is_open(&r.status) || r.status == "in_progress" {
        return None;
    }
    let urgent = r.urgency == service::URGENT;
    if urgent && r.claimed_by.is_none() {
        // Escalated already (at once when the team had nobody to read it), or when due.
        let at = r
            .escalated_at
            .unwrap_or(r.created_at + state.settings.escalate_urgent_after);
        return Some(if now < at && r.escalated_at.is_none() {
            Clock {
                text: format!("escalates in {}", span(at - now)),
                class: "soon",
            }
        } else {
            Clock {
                text: format!("escalated {} ago: nobody has taken it", span(now - at)),
                class: "overdue",
            }
        });
    }
    let due = r.created_at + Duration::hours(i64::from(service::respond_within_hours(urgent)));
    Some(if now < due {
        Clock {
            text: format!("reply due in {}", span(due - now)),
            class: if due - now < Duration::hours(1) {
                "soon"
            } else {
                "due"
            },
        }
    } else {
        Clock {
            text: format!("overdue by {}", span(now - due)),
            class: "overdue",
        }
    })
}

pub fn borough_name(state: &AppState, slug: Option<&str>) -> Option<String> {
    slug.map(|s| {
        state
            .gazetteer
            .borough(s)
            .map_or_else(|| s.to_string(), |b| b.name.clone())
    })
}

pub fn need_names(state: &AppState, needs: &[String]) -> String {
    let names = state.referral_rules.need_names();
    needs
        .iter()
        .map(|n| names.get(n.as_str()).copied().unwrap_or(n))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(
    state: &AppState,
    r: &referral::Model,
    item: InboxItem,
    now: DateTime<Utc>,
) -> ConsoleResult<Row> {
    let age = inbox::age_of(state, r)?;
    Ok(Row {
        id: item.id.to_string(),
        reference: item.reference,
        urgent: item.urgency == service::URGENT,
        needs: need_names(state, &item.needs),
        borough: borough_name(state, item.borough.as_deref()),
        age_band: age.map(age_band),
        status: status_label(&item.status),
        claimed_by: item.claimed_by.map(|w| w.name),
        received_ago: ago(now, item.created_at),
        received_at: london(item.created_at),
        clock: clock(state, r, now),
        unread: item.unread,
    })
}

/// The list as HTML, and the tab title (which counts urgent referrals nobody has taken).
async fn rows_html(
    state: &AppState,
    me: &ConsoleSession,
    c: &Checked,
) -> ConsoleResult<(String, String)> {
    let org = me.worker.organisation_id;
    let filter = Filter {
        status: c.status,
        urgency: c.urgency,
        claimed_by: c.mine.then_some(me.worker.id),
        unclaimed: c.unclaimed,
        need: c.need.as_deref(),
        waiting: c.waiting,
        reference: None,
    };
    let (found, total) =
        inbox::list_rows(state, org, me.worker.id, &filter, c.page, PER_PAGE).await?;
    let now = state.clock.now();
    let rows = found
        .into_iter()
        .map(|(r, item)| row(state, &r, item, now))
        .collect::<ConsoleResult<Vec<_>>>()?;
    let waiting = inbox::unclaimed_urgent(state, org).await?;
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let title = if waiting > 0 {
        format!("({waiting}) Inbox – {waiting} urgent not taken – Signpost console")
    } else {
        "Inbox – Signpost console".to_string()
    };
    let href = |p: u32| {
        let q = query_string(c, p);
        if q.is_empty() {
            "/console/inbox".to_string()
        } else {
            format!("/console/inbox?{q}")
        }
    };
    let part = Rows {
        rows,
        total,
        page: c.page,
        pages,
        title: title.clone(),
        prev_href: (c.page > 1).then(|| href(c.page - 1)),
        next_href: (u64::from(c.page) < pages).then(|| href(c.page + 1)),
        filtered: filter.narrows(),
    };
    let html = part.render().map_err(|e| {
        tracing::error!(error = %e, "console: the inbox did not render");
        super::error::internal()
    })?;
    Ok((html, title))
}

const NO_SUCH_REFERENCE: &str = "No referral in your inbox has that reference";
const NO_REFERENCE: &str = "Enter the reference of the referral you are looking for";

/// `GET /console/inbox?status=&urgency=&need=&mine=1&unclaimed=1&waiting=1&page=`, and
/// find by reference: `?reference=` goes straight to that referral when it is one of the
/// organisation's; anything else (unknown, or another organisation's) is the inbox with
/// the same "No referral in your inbox has that reference".
pub async fn page(
    State(state): State<AppState>,
    me: ConsoleSession,
    Query(p): Query<Params>,
) -> ConsoleResult<Response> {
    let c = check(&state, &p)?;
    let mut find_error = None;
    let mut status = StatusCode::OK;
    if let Some(raw) = p.reference.as_deref() {
        if inbox::normalise_reference(raw).is_none() {
            find_error = Some(NO_REFERENCE);
            status = StatusCode::UNPROCESSABLE_ENTITY;
        } else if let Some(id) =
            inbox::find_by_reference(&state, me.worker.organisation_id, raw).await?
        {
            return Ok(Redirect::to(&format!("/console/referrals/{id}")).into_response());
        } else {
            find_error = Some(NO_SUCH_REFERENCE);
            status = StatusCode::NOT_FOUND;
        }
    }
    let (list, title) = rows_html(&state, &me, &c).await?;
    let q = query_string(&c, c.page);
    let page = InboxPage {
        layout: Layout::new("Inbox", Some(me.me())),
        title,
        list,
        status: c.status.unwrap_or_default().to_string(),
        urgency: c.urgency.unwrap_or_default().to_string(),
        mine: c.mine,
        unclaimed: c.unclaimed,
        need: c.need.clone().unwrap_or_default(),
        waiting: c.waiting,
        statuses: inbox::STATUSES
            .iter()
            .map(|s| (*s, status_name(s)))
            .collect(),
        needs: inbox::need_options(&state),
        fragment_url: if q.is_empty() {
            "/console/inbox/rows".into()
        } else {
            format!("/console/inbox/rows?{q}")
        },
        reference: if find_error.is_some() {
            p.reference
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_string()
        } else {
            String::new()
        },
        find_error,
        kept: kept(&c),
    };
    Ok(render(status, &page))
}

fn status_name(s: &str) -> &'static str {
    match s {
        "received" => "Received",
        "assigned" => "Waiting to be taken",
        "claimed" => "Taken",
        "in_progress" => "In progress",
        "closed" => "Closed",
        "withdrawn" => "Withdrawn",
        _ => "Other",
    }
}

/// `GET /console/inbox/rows?…`: the list alone, for the page's refresh. Fetching it does
/// not count as activity, so an open inbox still signs out when nobody is there.
pub async fn rows(
    State(state): State<AppState>,
    Watching(me): Watching,
    Query(p): Query<Params>,
) -> ConsoleResult<Response> {
    let c = check(&state, &p)?;
    let (html, _) = rows_html(&state, &me, &c).await?;
    let mut response = axum::response::IntoResponse::into_response((StatusCode::OK, html));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(response)
}
