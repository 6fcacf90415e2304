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

use crate::error::ApiError;
use crate::state::AppState;

pub mod logging;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
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

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "Database unreachable")))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.db.ping().await {
        Ok(()) => Ok(Json(Health { status: "ready" })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(ApiError::Unavailable)
        }
    }
}

/// Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let dir = state.directory.load();
    let body = format!(
        "# HELP signpost_directory_services Active services in the directory snapshot.\n\
         # TYPE signpost_directory_services gauge\n\
         signpost_directory_services {}\n\
         # HELP signpost_directory_revision Revision of the directory snapshot being served.\n\
         # TYPE signpost_directory_revision gauge\n\
         signpost_directory_revision {}\n",
        dir.services.len(),
        dir.revision,
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
}
