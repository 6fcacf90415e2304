//! Coordinators' and admins' view of notifications over JSON: their organisation's
//! webhook endpoints, and the outbox (dead rows stay visible, with a retry action). The
//! rules are in [`super::endpoints`], shared with the console's team pages.
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use validator::Validate;

use super::endpoints::{self, Delivery, Endpoint, NewEndpoint, Notification, Scope, Secret};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidatedJson, ValidatedQuery};
use crate::paging::{Page, PageQuery};
use crate::state::AppState;
use crate::workers::auth::SignedIn;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, add_webhook))
        .routes(routes!(remove_webhook))
        .routes(routes!(test_webhook))
        .routes(routes!(list_notifications))
        .routes(routes!(retry_notification))
}

/// Coordinators act for their own organisation; admins for any.
fn scope(me: &SignedIn) -> ApiResult<Scope> {
    endpoints::scope_for(&me.worker.role, me.worker.organisation_id).ok_or_else(|| {
        ApiError::Forbidden("only coordinators and admins manage notifications".into())
    })
}

/// The address, purpose and secret are checked by [`endpoints::add`], the one rule for
/// every way an endpoint is added.
#[derive(Deserialize, Validate, ToSchema)]
pub struct NewWebhook {
    /// Where to POST notifications: an http or https URL, at most 2000 characters.
    pub url: String,
    /// `notify` (new referrals, messages, transfers, reminders) or `escalation`.
    pub purpose: String,
    /// Shared secret for the signature: 32 to 512 characters. Never shown again.
    pub secret: String,
    /// Admins only: another organisation.
    pub organisation_id: Option<Uuid>,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("url", &self.url)
            .field("purpose", &self.purpose)
            .field("organisation_id", &self.organisation_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub url: String,
    pub purpose: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

fn webhook_view(e: Endpoint) -> WebhookView {
    WebhookView {
        id: e.id,
        organisation_id: e.organisation_id,
        url: e.url,
        purpose: e.purpose,
        active: e.active,
        created_at: e.created_at,
    }
}

/// Your organisation's webhook endpoints (secrets are never shown).
#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "notifications",
    security(("worker" = [])),
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_webhooks(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<Vec<WebhookView>>> {
    let scope = scope(&me)?;
    let list = endpoints::list(&state.db, scope).await?;
    Ok(Json(list.into_iter().map(webhook_view).collect()))
}

/// Add a webhook endpoint.
#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "notifications",
    security(("worker" = [])),
    request_body = NewWebhook,
    responses((status = 201, body = WebhookView), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_webhook(
    State(state): State<AppState>,
    me: SignedIn,
    ValidatedJson(input): ValidatedJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    let scope = scope(&me)?;
    let e = endpoints::add(
        &state,
        scope,
        NewEndpoint {
            url: input.url,
            purpose: input.purpose,
            secret: Secret::new(input.secret),
            organisation: input.organisation_id,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(webhook_view(e))))
}

/// Stop sending to an endpoint. Its undelivered notifications stay visible.
#[utoipa::path(delete, path = "/v1/admin/webhooks/{id}", tag = "notifications",
    security(("worker" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn remove_webhook(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let scope = scope(&me)?;
    endpoints::remove(&state.db, scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestSent {
    /// The test notification, as listed by `GET /v1/admin/notifications`.
    pub notification_id: Uuid,
}

/// Send a test notification to one active endpoint: event `test`, no referral, signed and
/// delivered (with retries) like every notification.
#[utoipa::path(post, path = "/v1/admin/webhooks/{id}/test", tag = "notifications",
    security(("worker" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 202, body = TestSent), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn test_webhook(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<TestSent>)> {
    let scope = scope(&me)?;
    let notification_id = endpoints::send_test(&state, scope, id).await?;
    Ok((StatusCode::ACCEPTED, Json(TestSent { notification_id })))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `pending`, `delivered` or `dead`.
    pub state: Option<String>,
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub event_type: String,
    pub reference: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub endpoint: WebhookRef,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookRef {
    pub id: Uuid,
    pub url: String,
}

fn notification_view(n: Notification) -> NotificationView {
    NotificationView {
        id: n.id,
        event_type: n.event_type,
        reference: n.reference,
        state: n.state,
        attempts: n.attempts,
        last_status: n.last_status,
        last_error: n.last_error,
        endpoint: WebhookRef {
            id: n.endpoint_id,
            url: n.endpoint_url,
        },
        created_at: n.created_at,
        next_attempt_at: n.next_attempt_at,
        delivered_at: n.delivered_at,
    }
}

/// Notifications to your organisation's endpoints; `state=dead` lists those that could
/// not be delivered in their retry window.
#[utoipa::path(get, path = "/v1/admin/notifications", tag = "notifications",
    security(("worker" = [])),
    params(NotificationQuery),
    responses((status = 200, body = Page<NotificationView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_notifications(
    State(state): State<AppState>,
    me: SignedIn,
    ValidatedQuery(q): ValidatedQuery<NotificationQuery>,
) -> ApiResult<Json<Page<NotificationView>>> {
    let scope = scope(&me)?;
    let which = q.state.as_deref().map(Delivery::parse).transpose()?;
    let paging = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let page = endpoints::notifications(&state.db, scope, which, &paging).await?;
    Ok(Json(page.map(notification_view)))
}

/// Try a dead (or pending) notification again now, with a fresh retry window.
#[utoipa::path(post, path = "/v1/admin/notifications/{id}/retry", tag = "notifications",
    security(("worker" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn retry_notification(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let scope = scope(&me)?;
    endpoints::retry(&state, scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
