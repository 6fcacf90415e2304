//! Webhook endpoints and undelivered notifications, for coordinators and admins (of their
//! own organisation, [`super::team::lead_only`]). The rules are the JSON routes' own
//! ([`crate::notify::endpoints`]); these pages only show and ask.
//!
//! - `GET /console/team/webhooks`: active endpoints, the add form, test and remove buttons
//! - `POST /console/team/webhooks` (`url`, `purpose`): adds one; the answer shows its secret,
//!   made here on the server, once
//! - `GET|POST /console/team/webhooks/{id}/remove`: asks to confirm, then removes
//! - `POST /console/team/webhooks/{id}/test`: queues a test notification
//! - `GET /console/team/notifications?state=dead|pending|delivered&page=`: notifications,
//!   the undelivered ones first
//! - `POST /console/team/notifications/{id}/retry`: tries one again
use askama::Template;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::CsrfField;
use super::error::{ConsoleError, ConsoleResult, not_found};
use super::session::{ConsoleSession, SignedInForm};
use super::team::{TeamTab, lead_only};
use super::{Layout, ago, london, method_not_allowed, render};
use crate::error::{ApiError, FieldError};
use crate::notify::endpoints::{
    self, Delivery, Endpoint, NewEndpoint, Purpose, Scope, event_words, new_secret,
};
use crate::paging::PageQuery;
use crate::state::AppState;

pub const PER_PAGE: u32 = 25;
const WEBHOOKS: &str = "/console/team/webhooks";
const NOTIFICATIONS: &str = "/console/team/notifications";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(WEBHOOKS, get(page).post(add).fallback(method_not_allowed))
        .route(
            "/console/team/webhooks/{id}/remove",
            get(confirm_remove)
                .post(remove)
                .fallback(method_not_allowed),
        )
        .route(
            "/console/team/webhooks/{id}/test",
            post(send_test)
                .get(|| async { Redirect::to(WEBHOOKS) })
                .fallback(method_not_allowed),
        )
        .route(
            NOTIFICATIONS,
            get(notifications).fallback(method_not_allowed),
        )
        .route(
            "/console/team/notifications/{id}/retry",
            post(retry)
                .get(|| async { Redirect::to(NOTIFICATIONS) })
                .fallback(method_not_allowed),
        )
}

/// Coordinators and admins, each acting on their own organisation.
fn scope(me: &ConsoleSession) -> ConsoleResult<Scope> {
    lead_only(me)?;
    Ok(Scope::Organisation(me.worker.organisation_id))
}

fn id_of(raw: &str) -> ConsoleResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| not_found())
}

/// An endpoint as a line on the page.
struct EndpointRow {
    id: String,
    url: String,
    purpose: &'static str,
    added: String,
    added_ago: String,
}

fn endpoint_row(e: Endpoint, now: chrono::DateTime<chrono::Utc>) -> EndpointRow {
    EndpointRow {
        id: e.id.to_string(),
        purpose: e.purpose_words(),
        added: london(e.created_at),
        added_ago: ago(now, e.created_at),
        url: e.url,
    }
}

/// What was typed into the add form, and its errors, each naming its field.
#[derive(Default)]
struct Entered {
    url: String,
    purpose: String,
    url_error: Option<String>,
    purpose_error: Option<String>,
    other_errors: Vec<String>,
}

impl Entered {
    fn any_error(&self) -> bool {
        self.url_error.is_some() || self.purpose_error.is_some() || !self.other_errors.is_empty()
    }
}

/// A purpose as a choice on the form.
struct Choice {
    value: &'static str,
    label: String,
}

fn choices() -> Vec<Choice> {
    [Purpose::Notify, Purpose::Escalation]
        .into_iter()
        .map(|p| {
            let words = p.words();
            let mut label = words[..1].to_uppercase();
            label.push_str(&words[1..]);
            Choice {
                value: p.as_str(),
                label,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "webhooks/page.html")]
struct WebhooksPage {
    layout: Layout,
    tab: TeamTab,
    csrf: String,
    rows: Vec<EndpointRow>,
    notice: Option<String>,
    form: Entered,
    choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "webhooks/added.html")]
struct AddedPage {
    layout: Layout,
    tab: TeamTab,
    csrf: String,
    row: EndpointRow,
    secret: String,
}

#[derive(Template)]
#[template(path = "webhooks/remove.html")]
struct RemovePage {
    layout: Layout,
    tab: TeamTab,
    csrf: String,
    row: EndpointRow,
}

/// Notices after a redirect: ids and fixed words only.
#[derive(Debug, Default, Deserialize)]
pub struct WebhooksParams {
    #[serde(default)]
    tested: Option<String>,
    #[serde(default)]
    removed: Option<String>,
}

async fn render_page(
    state: &AppState,
    me: &ConsoleSession,
    scope: Scope,
    status: StatusCode,
    notice: Option<String>,
    form: Entered,
) -> ConsoleResult<Response> {
    let now = state.clock.now();
    let rows = endpoints::list(&state.db, scope)
        .await?
        .into_iter()
        .map(|e| endpoint_row(e, now))
        .collect();
    let view = WebhooksPage {
        layout: Layout::new("Webhook endpoints", Some(me.me())),
        tab: TeamTab::Webhooks,
        csrf: me.csrf.clone(),
        rows,
        notice,
        form,
        choices: choices(),
    };
    Ok(render(status, &view))
}

/// `GET /console/team/webhooks`.
pub async fn page(
    State(state): State<AppState>,
    me: ConsoleSession,
    Query(p): Query<WebhooksParams>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let notice = if let Some(id) = p.tested.as_deref().and_then(|s| Uuid::parse_str(s).ok()) {
        endpoints::get(&state.db, scope, id).await.ok().map(|e| {
            format!(
                "A test notification is on its way to {}. If it does not arrive within a \
                 few minutes, look under Notifications.",
                e.url
            )
        })
    } else if p.removed.is_some() {
        Some("The endpoint was removed. Nothing more will be sent to it.".to_string())
    } else {
        None
    };
    render_page(
        &state,
        &me,
        scope,
        StatusCode::OK,
        notice,
        Entered::default(),
    )
    .await
}

/// The add form. Missing fields are empty, so that the page can name them.
#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    purpose: String,
}

fn field_words(e: &FieldError) -> String {
    match (e.field.as_str(), e.message.as_str()) {
        ("url", "is required") => "Enter the address notifications should be sent to".into(),
        ("url", "must be an http or https URL") | ("url", "must be a URL") => {
            "Enter the address as a full web address starting with https://".into()
        }
        ("url", m) => format!("The address {m}"),
        ("purpose", _) => "Choose what this endpoint should be told about".into(),
        (f, m) => format!("{} {m}", f.replace('_', " ")),
    }
}

/// `POST /console/team/webhooks` (`csrf`, `url`, `purpose`): adds an endpoint with a secret
/// made here, and shows that secret once. Bad input: the form again (422), naming the field.
pub async fn add(
    State(state): State<AppState>,
    SignedInForm { me, form }: SignedInForm<AddForm>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let secret = new_secret();
    let added = endpoints::add(
        &state,
        scope,
        NewEndpoint {
            url: form.url.clone(),
            purpose: form.purpose.trim().to_string(),
            secret: secret.clone(),
            organisation: None,
        },
    )
    .await;
    match added {
        Ok(e) => {
            let view = AddedPage {
                layout: Layout::new("Endpoint added", Some(me.me())),
                tab: TeamTab::Webhooks,
                csrf: me.csrf.clone(),
                row: endpoint_row(e, state.clock.now()),
                secret: secret.expose().to_string(),
            };
            Ok(render(StatusCode::OK, &view))
        }
        Err(ApiError::Validation(list)) => {
            let mut entered = Entered {
                url: form.url,
                purpose: form.purpose,
                ..Entered::default()
            };
            for e in &list {
                match e.field.as_str() {
                    "url" => entered.url_error = Some(field_words(e)),
                    "purpose" => entered.purpose_error = Some(field_words(e)),
                    _ => entered.other_errors.push(field_words(e)),
                }
            }
            if !entered.any_error() {
                entered
                    .other_errors
                    .push("Check the form and send it again".into());
            }
            render_page(
                &state,
                &me,
                scope,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                entered,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /console/team/webhooks/{id}/remove`: are you sure?
pub async fn confirm_remove(
    State(state): State<AppState>,
    me: ConsoleSession,
    Path(id): Path<String>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let id = id_of(&id)?;
    let e = endpoints::get(&state.db, scope, id).await?;
    let view = RemovePage {
        layout: Layout::new("Remove this endpoint?", Some(me.me())),
        tab: TeamTab::Webhooks,
        csrf: me.csrf.clone(),
        row: endpoint_row(e, state.clock.now()),
    };
    Ok(render(StatusCode::OK, &view))
}

/// `POST /console/team/webhooks/{id}/remove` (`csrf`): stops sending to it.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let id = id_of(&id)?;
    // Only an active endpoint is removed from here: a second press is the same 404.
    endpoints::get(&state.db, scope, id).await?;
    endpoints::remove(&state.db, scope, id).await?;
    Ok(Redirect::to("/console/team/webhooks?removed=1").into_response())
}

/// `POST /console/team/webhooks/{id}/test` (`csrf`): a test notification to one endpoint.
pub async fn send_test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let id = id_of(&id)?;
    endpoints::send_test(&state, scope, id).await?;
    Ok(Redirect::to(&format!("/console/team/webhooks?tested={id}")).into_response())
}

/// A notification as a line on the page.
struct NotificationRow {
    id: String,
    what: &'static str,
    reference: Option<String>,
    endpoint: String,
    attempts: i32,
    last: Option<String>,
    at: String,
    at_ago: String,
    delivered_at: Option<String>,
    retryable: bool,
}

#[derive(Template)]
#[template(path = "webhooks/notifications.html")]
struct NotificationsPage {
    layout: Layout,
    tab: TeamTab,
    csrf: String,
    /// `dead`, `pending` or `delivered`.
    state: &'static str,
    notice: Option<&'static str>,
    rows: Vec<NotificationRow>,
    total: u64,
    page: u32,
    pages: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NotificationsParams {
    #[serde(default)]
    state: String,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    retried: Option<String>,
}

fn bad_filter() -> ConsoleError {
    ConsoleError::page(
        StatusCode::BAD_REQUEST,
        "That filter is not one this page knows",
        "Choose not delivered, waiting to be sent or delivered from the notifications page.",
    )
    .next(NOTIFICATIONS, "Go to the notifications")
}

fn check(p: &NotificationsParams) -> ConsoleResult<(Delivery, u32)> {
    let which = match p.state.trim() {
        "" => Delivery::Dead,
        s => Delivery::parse(s).map_err(|_| bad_filter())?,
    };
    let page = match p.page.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 1,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(bad_filter)?,
    };
    Ok((which, page))
}

fn href(which: Delivery, page: u32) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if which != Delivery::Dead {
        q.append_pair("state", which.as_str());
    }
    if page > 1 {
        q.append_pair("page", &page.to_string());
    }
    let q = q.finish();
    if q.is_empty() {
        NOTIFICATIONS.to_string()
    } else {
        format!("{NOTIFICATIONS}?{q}")
    }
}

/// The last try, in plain words.
fn last_try(status: Option<i32>, error: Option<&str>) -> Option<String> {
    match (status, error) {
        (Some(s), _) if (200..300).contains(&s) => Some(format!("Accepted ({s})")),
        (Some(s), _) => Some(format!("The endpoint answered with an error ({s})")),
        (None, Some("timed out")) => Some("No answer in time".into()),
        (None, Some("could not connect")) => Some("Could not reach the endpoint".into()),
        (None, Some(e)) => Some(e.to_string()),
        (None, None) => None,
    }
}

/// `GET /console/team/notifications?state=dead|pending|delivered&page=`.
pub async fn notifications(
    State(state): State<AppState>,
    me: ConsoleSession,
    Query(p): Query<NotificationsParams>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let (which, page) = check(&p)?;
    let paging = PageQuery {
        page: Some(page),
        per_page: Some(PER_PAGE),
    };
    let found = endpoints::notifications(&state.db, scope, Some(which), &paging).await?;
    let now = state.clock.now();
    let rows = found
        .contents
        .into_iter()
        .map(|n| NotificationRow {
            id: n.id.to_string(),
            what: event_words(&n.event_type),
            retryable: n.retryable(),
            reference: n.reference,
            endpoint: n.endpoint_url,
            attempts: n.attempts,
            last: last_try(n.last_status, n.last_error.as_deref()),
            at: london(n.created_at),
            at_ago: ago(now, n.created_at),
            delivered_at: n.delivered_at.map(london),
        })
        .collect();
    let pages = found.total_pages.max(1);
    let view = NotificationsPage {
        layout: Layout::new("Notifications", Some(me.me())),
        tab: TeamTab::Notifications,
        csrf: me.csrf.clone(),
        state: which.as_str(),
        notice: p.retried.is_some().then_some(
            "It will be sent again now. Until it arrives it is listed under Waiting to be sent.",
        ),
        rows,
        total: found.total_items,
        page,
        pages,
        prev_href: (page > 1).then(|| href(which, page - 1)),
        next_href: (u64::from(page) < pages).then(|| href(which, page + 1)),
    };
    Ok(render(StatusCode::OK, &view))
}

/// `POST /console/team/notifications/{id}/retry` (`csrf`): tries it again now.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { me, .. }: SignedInForm<CsrfField>,
) -> ConsoleResult<Response> {
    let scope = scope(&me)?;
    let id = id_of(&id)?;
    match endpoints::retry(&state, scope, id).await {
        Ok(()) => Ok(Redirect::to("/console/team/notifications?retried=1").into_response()),
        Err(ApiError::Conflict(_)) => Err(ConsoleError::page(
            StatusCode::CONFLICT,
            "This notification was already delivered",
            "Nothing was changed. There is no need to send it again.",
        )
        .next(NOTIFICATIONS, "Go to the notifications")),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_words() {
        assert_eq!(href(Delivery::Dead, 1), NOTIFICATIONS);
        assert_eq!(
            href(Delivery::Pending, 2),
            "/console/team/notifications?state=pending&page=2"
        );
        assert_eq!(
            last_try(Some(500), Some("HTTP 500")).as_deref(),
            Some("The endpoint answered with an error (500)")
        );
        assert_eq!(last_try(None, None), None);
        let p = NotificationsParams {
            state: "lost".into(),
            ..Default::default()
        };
        assert!(check(&p).is_err());
        assert_eq!(Purpose::parse("escalation"), Some(Purpose::Escalation));
    }
}
