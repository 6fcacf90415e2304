//! `GET /v1/places/{query}`: geocode a postcode or outward code from the shipped table.
use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{LookupError, Precision};
use crate::directory::views::BoroughRefView;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceView {
    /// What was asked for, as sent.
    pub query: String,
    /// The normalised full postcode, or null for an outward code.
    pub postcode: Option<String>,
    pub outcode: String,
    pub lat: f64,
    pub lon: f64,
    /// `postcode` (exact) or `district` (the outward code's centre).
    pub precision: String,
    pub borough: BoroughRefView,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_place))
}

/// Geocode a London postcode or outward code, offline.
#[utoipa::path(get, path = "/v1/places/{query}", tag = "directory",
    params(("query" = String, Path, description = "A full postcode (E8 3PL) or outward code (E8)")),
    responses(
        (status = 200, body = PlaceView),
        (status = 404, description = "A well-formed postcode outside London", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a postcode or outward code", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_place(
    State(state): State<AppState>,
    Path(query): Path<String>,
) -> ApiResult<Json<PlaceView>> {
    let place = state.gazetteer.resolve(&query).map_err(|e| match e {
        LookupError::Malformed => ApiError::field("query", e.to_string()),
        other => ApiError::NotFound(other.to_string()),
    })?;
    Ok(Json(PlaceView {
        query,
        postcode: place.postcode,
        outcode: place.outcode,
        lat: place.lat,
        lon: place.lon,
        precision: match place.precision {
            Precision::Postcode => "postcode",
            Precision::District => "district",
        }
        .to_string(),
        borough: BoroughRefView {
            slug: place.borough.slug,
            gss_code: place.borough.gss_code,
            name: place.borough.name,
        },
    }))
}
