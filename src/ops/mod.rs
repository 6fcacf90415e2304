//! Operations: liveness, readiness, metrics, the OpenAPI document and its page.
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::{outbox, referral};
use crate::error::ApiError;
use crate::state::AppState;

pub mod logging;
pub mod memory;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(about))
}

/// The data attribution the Open Government Licence asks for.
pub const DATA_ATTRIBUTION: [&str; 4] = [
    "Contains National Statistics data © Crown copyright and database right 2025.",
    "Contains OS data © Crown copyright and database right 2025.",
    "Contains Royal Mail data © Royal Mail copyright and database right 2025.",
    "Source: Office for National Statistics, licensed under the Open Government Licence v3.0.",
];

#[derive(Serialize, ToSchema)]
pub struct About {
    pub name: &'static str,
    pub version: &'static str,
    pub api_version: &'static str,
    pub data_attribution: Vec<&'static str>,
    pub data_sources: Vec<&'static str>,
}

/// What this service is, and where its reference data comes from.
#[utoipa::path(get, path = "/v1/about", tag = "operations",
    responses((status = 200, body = About)))]
async fn about() -> Json<About> {
    Json(About {
        name: "Signpost",
        version: env!("CARGO_PKG_VERSION"),
        api_version: "1",
        data_attribution: DATA_ATTRIBUTION.to_vec(),
        data_sources: vec![
            "ONS Postcode Directory (November 2025)",
            "mySociety uk_local_authority_names_and_codes (MIT)",
        ],
    })
}

pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    /// Active youth workers on the duty team, the front door for every referral no
    /// other team can take.
    pub duty_team_active_workers: u64,
    /// Things that need a person now. Still ready: the directory and help lines must stay
    /// up for young people even when nobody is on duty.
    pub alarms: Vec<String>,
}

/// The database answers; alarms (such as an unstaffed duty team) are listed.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, description = "Database unreachable")))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    if let Err(err) = state.db.ping().await {
        tracing::warn!(error = %err, "readiness check failed");
        return Err(ApiError::Unavailable);
    }
    let duty = crate::referrals::staffing::duty_team_status(&state)
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "readiness check failed");
            ApiError::Unavailable
        })?;
    Ok(Json(Readiness {
        status: "ready",
        duty_team_active_workers: duty.active_workers,
        alarms: duty.alarm().into_iter().collect(),
    }))
}

/// Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let dir = state.directory.load();
    let mut body = format!(
        "# HELP signpost_directory_services Active services in the directory snapshot.\n\
         # TYPE signpost_directory_services gauge\n\
         signpost_directory_services {}\n\
         # HELP signpost_directory_revision Revision of the directory snapshot being served.\n\
         # TYPE signpost_directory_revision gauge\n\
         signpost_directory_revision {}\n",
        dir.services.len(),
        dir.revision,
    );
    let m = &state.metrics;
    body.push_str(
        "# HELP signpost_notification_deliveries_total Delivery attempts by this process, by outcome.\n\
         # TYPE signpost_notification_deliveries_total counter\n",
    );
    body.push_str(&format!(
        "# HELP signpost_referrals_unread_by_anyone_total Referrals made while the duty team had no active youth worker.\n\
         # TYPE signpost_referrals_unread_by_anyone_total counter\n\
         signpost_referrals_unread_by_anyone_total {}\n",
        m.unread_by_anyone.load(Ordering::Relaxed)
    ));
    for (outcome, counter) in [
        ("delivered", &m.delivered),
        ("failed", &m.failed),
        ("dead", &m.dead),
    ] {
        body.push_str(&format!(
            "signpost_notification_deliveries_total{{outcome=\"{outcome}\"}} {}\n",
            counter.load(Ordering::Relaxed)
        ));
    }
    match gauges(&state).await {
        Ok(text) => body.push_str(&text),
        Err(err) => tracing::warn!(error = %err, "metrics: database gauges unavailable"),
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
}

#[derive(Debug, FromQueryResult)]
struct Bucket {
    urgency: String,
    status: String,
    n: i64,
}

/// Gauges read from the database: outbox depth and age, referrals by urgency and status.
async fn gauges(state: &AppState) -> Result<String, sea_orm::DbErr> {
    let depth = outbox::Entity::find()
        .filter(outbox::Column::State.eq("pending"))
        .count(&state.db)
        .await?;
    let dead = outbox::Entity::find()
        .filter(outbox::Column::State.eq("dead"))
        .count(&state.db)
        .await?;
    let oldest: Option<DateTime<Utc>> = outbox::Entity::find()
        .filter(outbox::Column::State.eq("pending"))
        .order_by_asc(outbox::Column::CreatedAt)
        .one(&state.db)
        .await?
        .map(|r| r.created_at);
    let age = oldest.map_or(0.0, |t| {
        (state.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0
    });
    let duty = crate::referrals::staffing::duty_team_status(state).await?;
    let buckets = referral::Entity::find()
        .select_only()
        .column(referral::Column::Urgency)
        .column(referral::Column::Status)
        .column_as(referral::Column::Id.count(), "n")
        .group_by(referral::Column::Urgency)
        .group_by(referral::Column::Status)
        .into_model::<Bucket>()
        .all(&state.db)
        .await?;
    let mut out = format!(
        "# HELP signpost_outbox_depth Notifications waiting to be delivered.\n\
         # TYPE signpost_outbox_depth gauge\n\
         signpost_outbox_depth {depth}\n\
         # HELP signpost_outbox_dead Notifications that could not be delivered in their retry window.\n\
         # TYPE signpost_outbox_dead gauge\n\
         signpost_outbox_dead {dead}\n\
         # HELP signpost_outbox_oldest_undelivered_seconds Age of the oldest undelivered notification.\n\
         # TYPE signpost_outbox_oldest_undelivered_seconds gauge\n\
         signpost_outbox_oldest_undelivered_seconds {age}\n\
         # HELP signpost_duty_team_active_workers Active youth workers on the duty team (0 is an alarm).\n\
         # TYPE signpost_duty_team_active_workers gauge\n\
         signpost_duty_team_active_workers {duty_workers}\n\
         # HELP signpost_referrals Referrals by urgency and status.\n\
         # TYPE signpost_referrals gauge\n",
        duty_workers = duty.active_workers,
    );
    for b in buckets {
        out.push_str(&format!(
            "signpost_referrals{{urgency=\"{}\",status=\"{}\"}} {}\n",
            b.urgency, b.status, b.n
        ));
    }
    Ok(out)
}
