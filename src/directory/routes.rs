//! Directory handlers: extract, call, map to a response.
use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::search::{self, SearchSpec, ServiceSearchQuery};
use super::views::{
    self, BoroughView, CategoryView, OrganisationDetail, OrganisationView, ProgrammeView,
    ServiceDetail, ServiceSummary,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ValidatedQuery;
use crate::json;
use crate::paging::{Page, PageQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_services))
        .routes(routes!(get_service))
        .routes(routes!(list_categories))
        .routes(routes!(list_programmes))
        .routes(routes!(list_boroughs))
        .routes(routes!(list_organisations))
        .routes(routes!(get_organisation))
}

fn parse_id(raw: &str, field: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::field(field, "must be a UUID"))
}

/// Search the directory.
#[utoipa::path(get, path = "/v1/services", tag = "directory",
    params(ServiceSearchQuery),
    responses(
        (status = 200, description = "One page of services", body = Page<ServiceSummary>),
        (status = 422, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_services(
    State(state): State<AppState>,
    ValidatedQuery(query): ValidatedQuery<ServiceSearchQuery>,
) -> ApiResult<Response> {
    let dir = state.directory.load();
    let spec = SearchSpec::resolve(query, &dir, &state.gazetteer)?;
    let page = views::search_page(&dir, &spec, state.clock.now());
    Ok(json::render(&page, 512 + 1024 * page.contents.len()))
}

/// One service in full.
#[utoipa::path(get, path = "/v1/services/{id}", tag = "directory",
    params(("id" = String, Path, description = "Service id (UUID)")),
    responses(
        (status = 200, body = ServiceDetail),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The service has been retired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_service(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "id")?;
    let dir = state.directory.load();
    match dir.by_id.get(&id) {
        Some(&i) => Ok(json::render(&views::detail(&dir, i), 4096)),
        None if dir.retired.contains(&id) => {
            Err(ApiError::Gone("this service is no longer listed".into()))
        }
        None => Err(ApiError::NotFound("no service has this id".into())),
    }
}

/// The category taxonomy.
#[utoipa::path(get, path = "/v1/categories", tag = "directory",
    responses((status = 200, body = Vec<CategoryView>)))]
async fn list_categories(State(state): State<AppState>) -> Json<Vec<CategoryView>> {
    let dir = state.directory.load();
    Json(
        dir.categories
            .iter()
            .map(|c| CategoryView {
                slug: c.slug.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                parent: c.parent.clone(),
            })
            .collect(),
    )
}

/// Programmes services belong to (current and past).
#[utoipa::path(get, path = "/v1/programmes", tag = "directory",
    responses((status = 200, body = Vec<ProgrammeView>)))]
async fn list_programmes(State(state): State<AppState>) -> Json<Vec<ProgrammeView>> {
    let dir = state.directory.load();
    Json(
        dir.programmes
            .iter()
            .map(|p| ProgrammeView {
                slug: p.slug.clone(),
                name: p.name.clone(),
                summary: p.summary.clone(),
                description: p.description.clone(),
                url: p.url.clone(),
                active: p.active,
                successor: p.successor.clone(),
            })
            .collect(),
    )
}

/// The 33 London authorities.
#[utoipa::path(get, path = "/v1/boroughs", tag = "directory",
    responses((status = 200, body = Vec<BoroughView>)))]
async fn list_boroughs(State(state): State<AppState>) -> Json<Vec<BoroughView>> {
    let dir = state.directory.load();
    let mut list: Vec<BoroughView> = dir
        .boroughs
        .iter()
        .map(|b| BoroughView {
            slug: b.slug.clone(),
            gss_code: b.gss_code.clone(),
            name: b.name.clone(),
            lat: b.lat,
            lon: b.lon,
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Json(list)
}

/// Organisations, in name order.
#[utoipa::path(get, path = "/v1/organisations", tag = "directory",
    params(PageQuery),
    responses(
        (status = 200, body = Page<OrganisationView>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_organisations(
    State(state): State<AppState>,
    ValidatedQuery(page): ValidatedQuery<PageQuery>,
) -> Json<Page<OrganisationView>> {
    let dir = state.directory.load();
    let all: Vec<OrganisationView> = dir
        .organisations
        .iter()
        .map(views::organisation_view)
        .collect();
    Json(Page::slice(all, &page))
}

/// One organisation, with its services.
#[utoipa::path(get, path = "/v1/organisations/{id}", tag = "directory",
    params(("id" = String, Path, description = "Organisation id (UUID) or slug")),
    responses(
        (status = 200, body = OrganisationDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_organisation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let dir = state.directory.load();
    let found = match Uuid::parse_str(id.trim()) {
        Ok(uuid) => dir.organisations_by_id.get(&uuid).copied(),
        Err(_) => dir.organisations.iter().position(|o| o.slug == id.trim()),
    };
    let Some(i) = found else {
        return Err(ApiError::NotFound("no organisation has this id".into()));
    };
    let o = &dir.organisations[i];
    let detail = OrganisationDetail {
        organisation: views::organisation_view(o),
        email: o.email.as_deref(),
        phone: o.phone.as_deref(),
        services: o
            .services
            .iter()
            .map(|&s| views::summary(&dir, &search::Hit::without_place(&dir, s), false))
            .collect(),
    };
    Ok(json::render(&detail, 1024 + 1024 * o.services.len()))
}
