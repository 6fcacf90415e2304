//! Coordinators' and admins' view of notifications: their organisation's webhook
//! endpoints, and the outbox (dead rows stay visible, with a retry action).
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use validator::Validate;

use super::outbox::{PURPOSE_ESCALATION, PURPOSE_NOTIFY};
use crate::entities::{outbox, referral, webhook_endpoint};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidatedJson, ValidatedQuery};
use crate::paging::{Page, PageQuery};
use crate::state::AppState;
use crate::workers::auth::SignedIn;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, add_webhook))
        .routes(routes!(remove_webhook))
        .routes(routes!(list_notifications))
        .routes(routes!(retry_notification))
}

/// Coordinators act for their own organisation; admins for any.
fn require_coordinator(me: &SignedIn) -> ApiResult<()> {
    if me.can_transfer() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only coordinators and admins manage notifications".into(),
        ))
    }
}

fn is_admin(me: &SignedIn) -> bool {
    me.worker.role == "admin"
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct NewWebhook {
    /// Where to POST notifications (http or https).
    #[validate(url, length(max = 2000))]
    pub url: String,
    /// `notify` (new referrals, messages, transfers, reminders) or `escalation`.
    pub purpose: String,
    /// Shared secret for the signature: at least 32 characters. Never shown again.
    #[validate(length(min = 32, max = 512))]
    pub secret: String,
    /// Admins only: another organisation.
    pub organisation_id: Option<Uuid>,
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

fn webhook_view(e: webhook_endpoint::Model) -> WebhookView {
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
    require_coordinator(&me)?;
    let mut q = webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::Active.eq(true));
    if !is_admin(&me) {
        q = q.filter(webhook_endpoint::Column::OrganisationId.eq(me.worker.organisation_id));
    }
    let list = q
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .all(&state.db)
        .await?;
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
    require_coordinator(&me)?;
    if !(input.url.starts_with("https://") || input.url.starts_with("http://")) {
        return Err(ApiError::field("url", "must be an http or https URL"));
    }
    if input.purpose != PURPOSE_NOTIFY && input.purpose != PURPOSE_ESCALATION {
        return Err(ApiError::field("purpose", "must be notify or escalation"));
    }
    let organisation = match input.organisation_id {
        Some(o) if o != me.worker.organisation_id && !is_admin(&me) => {
            return Err(ApiError::Forbidden(
                "only admins set endpoints for another organisation".into(),
            ));
        }
        Some(o) => o,
        None => me.worker.organisation_id,
    };
    if !state
        .directory
        .load()
        .organisations_by_id
        .contains_key(&organisation)
    {
        return Err(ApiError::field(
            "organisation_id",
            "no active organisation has this id",
        ));
    }
    let id = Uuid::now_v7();
    let e = webhook_endpoint::ActiveModel {
        id: Set(id),
        organisation_id: Set(organisation),
        url: Set(input.url),
        secret_sealed: Set(state.keys.seal(&input.secret, id.as_bytes())),
        purpose: Set(input.purpose),
        active: Set(true),
        created_at: Set(state.clock.now()),
    }
    .insert(&state.db)
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
    require_coordinator(&me)?;
    let mut q = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Active, Expr::value(false))
        .filter(webhook_endpoint::Column::Id.eq(id));
    if !is_admin(&me) {
        q = q.filter(webhook_endpoint::Column::OrganisationId.eq(me.worker.organisation_id));
    }
    match q.exec(&state.db).await?.rows_affected {
        0 => Err(ApiError::NotFound(
            "no endpoint of yours has this id".into(),
        )),
        _ => Ok(StatusCode::NO_CONTENT),
    }
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

async fn endpoints_of(state: &AppState, me: &SignedIn) -> ApiResult<Vec<webhook_endpoint::Model>> {
    let mut q = webhook_endpoint::Entity::find();
    if !is_admin(me) {
        q = q.filter(webhook_endpoint::Column::OrganisationId.eq(me.worker.organisation_id));
    }
    Ok(q.all(&state.db).await?)
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
    require_coordinator(&me)?;
    if let Some(s) = q
        .state
        .as_deref()
        .filter(|s| !matches!(*s, "pending" | "delivered" | "dead"))
    {
        return Err(ApiError::field(
            "state",
            format!("{s:?} is not pending, delivered or dead"),
        ));
    }
    let endpoints = endpoints_of(&state, &me).await?;
    let paging = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let mut select = outbox::Entity::find()
        .filter(outbox::Column::EndpointId.is_in(endpoints.iter().map(|e| e.id)));
    if let Some(s) = &q.state {
        select = select.filter(outbox::Column::State.eq(s.clone()));
    }
    let total = select.clone().count(&state.db).await?;
    let rows = select
        .order_by_desc(outbox::Column::CreatedAt)
        .order_by_desc(outbox::Column::Id)
        .offset(paging.offset() as u64)
        .limit(u64::from(paging.per_page()))
        .all(&state.db)
        .await?;
    let referral_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.referral_id).collect();
    let references: std::collections::HashMap<Uuid, String> = referral::Entity::find()
        .filter(referral::Column::Id.is_in(referral_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.reference))
        .collect();
    let urls: std::collections::HashMap<Uuid, String> =
        endpoints.into_iter().map(|e| (e.id, e.url)).collect();
    let items = rows
        .into_iter()
        .map(|r| NotificationView {
            id: r.id,
            reference: r.referral_id.and_then(|id| references.get(&id).cloned()),
            event_type: r.event_type,
            state: r.state,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            endpoint: WebhookRef {
                id: r.endpoint_id,
                url: urls.get(&r.endpoint_id).cloned().unwrap_or_default(),
            },
            created_at: r.created_at,
            next_attempt_at: r.next_attempt_at,
            delivered_at: r.delivered_at,
        })
        .collect();
    Ok(Json(Page::new(items, total, &paging)))
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
    require_coordinator(&me)?;
    let endpoints = endpoints_of(&state, &me).await?;
    let row = outbox::Entity::find_by_id(id)
        .filter(outbox::Column::EndpointId.is_in(endpoints.iter().map(|e| e.id)))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("no notification of yours has this id".into()))?;
    if row.state == "delivered" {
        return Err(ApiError::Conflict("this notification was delivered".into()));
    }
    let now = state.clock.now();
    outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value("pending"))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            outbox::Column::RetryUntil,
            Expr::value(now + Duration::hours(i64::from(state.settings.outbox_retry_hours))),
        )
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    state.outbox_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
