//! Public content: articles, safe places and the privacy page.
use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::catalogue::{AUDIENCES, Article, KINDS, SafePlace};
use super::privacy::{PrivacyPage, privacy_for};
use crate::directory::search::{DEFAULT_RADIUS_KM, Origin};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::extract::ValidatedQuery;
use crate::geo::{LookupError, haversine_km};
use crate::paging::{Page, PageQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_articles))
        .routes(routes!(get_article))
        .routes(routes!(list_safe_places))
        .routes(routes!(get_privacy))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// young-people, parents, schools, community or faith-groups.
    pub audience: Option<String>,
    /// story, guide, toolkit or campaign.
    pub kind: Option<String>,
    pub tag: Option<String>,
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

/// London Needs You Alive and other content, newest first.
#[utoipa::path(get, path = "/v1/articles", tag = "content",
    params(ArticleQuery),
    responses((status = 200, body = Page<Article>), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn list_articles(
    State(state): State<AppState>,
    ValidatedQuery(q): ValidatedQuery<ArticleQuery>,
) -> ApiResult<Json<Page<Article>>> {
    let cat = state.catalogue.load();
    let mut errors = Vec::new();
    if let Some(a) = q.audience.as_deref().filter(|a| !AUDIENCES.contains(a)) {
        errors.push(FieldError::new(
            "audience",
            format!("{a:?} is not one of {}", AUDIENCES.join(", ")),
        ));
    }
    if let Some(k) = q.kind.as_deref().filter(|k| !KINDS.contains(k)) {
        errors.push(FieldError::new(
            "kind",
            format!("{k:?} is not one of {}", KINDS.join(", ")),
        ));
    }
    if let Some(t) = q
        .tag
        .as_deref()
        .filter(|t| !cat.articles.iter().any(|a| a.tags.iter().any(|x| x == t)))
    {
        errors.push(FieldError::new(
            "tag",
            format!("no article has the tag {t:?}"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let list: Vec<Article> = cat
        .articles
        .iter()
        .filter(|a| q.audience.as_ref().is_none_or(|x| a.audience.contains(x)))
        .filter(|a| q.kind.as_ref().is_none_or(|x| &a.kind == x))
        .filter(|a| q.tag.as_ref().is_none_or(|x| a.tags.contains(x)))
        .cloned()
        .collect();
    Ok(Json(Page::slice(
        list,
        &PageQuery {
            page: q.page,
            per_page: q.per_page,
        },
    )))
}

/// One article.
#[utoipa::path(get, path = "/v1/articles/{slug}", tag = "content",
    params(("slug" = String, Path)),
    responses((status = 200, body = Article), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<Article>> {
    state
        .catalogue
        .load()
        .articles
        .iter()
        .find(|a| a.slug == slug)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no article has this slug".into()))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// A full postcode or an outward code.
    #[validate(length(max = 16))]
    pub near: Option<String>,
    #[validate(range(min = -90.0, max = 90.0))]
    pub lat: Option<f64>,
    #[validate(range(min = -180.0, max = 180.0))]
    pub lon: Option<f64>,
    /// Default 5 with a place, at most 50.
    #[validate(range(exclusive_min = 0.0, max = 50.0))]
    pub radius_km: Option<f64>,
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct SafePlaceHit {
    #[serde(flatten)]
    pub place: SafePlace,
    /// Present when a place was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
}

fn origin(state: &AppState, q: &PlaceQuery) -> ApiResult<Option<Origin>> {
    let near = q.near.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match (near, q.lat, q.lon) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ApiError::field(
            "near",
            "give near or lat and lon, not both",
        )),
        (Some(raw), None, None) => state
            .gazetteer
            .resolve(raw)
            .map(|p| {
                Some(Origin {
                    lat: p.lat,
                    lon: p.lon,
                    borough: None,
                })
            })
            .map_err(|e| match e {
                LookupError::Malformed => ApiError::field("near", format!("{raw:?} {e}")),
                other => ApiError::field("near", other.to_string()),
            }),
        (None, Some(lat), Some(lon)) => Ok(Some(Origin {
            lat,
            lon,
            borough: None,
        })),
        (None, Some(_), None) => Err(ApiError::field("lon", "is required with lat")),
        (None, None, Some(_)) => Err(ApiError::field("lat", "is required with lon")),
        (None, None, None) if q.radius_km.is_some() => {
            Err(ApiError::field("radius_km", "needs near, or lat and lon"))
        }
        (None, None, None) => Ok(None),
    }
}

/// Places to go for help now, nearest first when a place is given.
#[utoipa::path(get, path = "/v1/safe-places", tag = "content",
    params(PlaceQuery),
    responses((status = 200, body = Page<SafePlaceHit>), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn list_safe_places(
    State(state): State<AppState>,
    ValidatedQuery(q): ValidatedQuery<PlaceQuery>,
) -> ApiResult<Json<Page<SafePlaceHit>>> {
    let origin = origin(&state, &q)?;
    let radius = q.radius_km.unwrap_or(DEFAULT_RADIUS_KM);
    let cat = state.catalogue.load();
    let mut hits: Vec<SafePlaceHit> = cat
        .safe_places
        .iter()
        .filter_map(|p| match origin {
            None => Some(SafePlaceHit {
                place: p.clone(),
                distance_km: None,
            }),
            Some(o) => {
                let d = haversine_km(o.lat, o.lon, p.lat, p.lon);
                (d <= radius).then(|| SafePlaceHit {
                    place: p.clone(),
                    distance_km: Some((d * 100.0).round() / 100.0),
                })
            }
        })
        .collect();
    if origin.is_some() {
        hits.sort_by(|a, b| {
            a.distance_km
                .unwrap_or(f64::MAX)
                .total_cmp(&b.distance_km.unwrap_or(f64::MAX))
        });
    } else {
        hits.sort_by(|a, b| a.place.name.cmp(&b.place.name));
    }
    Ok(Json(Page::slice(
        hits,
        &PageQuery {
            page: q.page,
            per_page: q.per_page,
        },
    )))
}

/// What we keep, when a youth worker would have to share something, and how to complain,
/// in plain words. Every number in it is this instance's setting (how long things are
/// kept, response times, escalation).
#[utoipa::path(get, path = "/v1/privacy", tag = "content",
    responses((status = 200, body = PrivacyPage), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_privacy(State(state): State<AppState>) -> ApiResult<Json<PrivacyPage>> {
    privacy_for(&state.catalogue.load(), &state.settings)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("there is no privacy page in content/".into()))
}
