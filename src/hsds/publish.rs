//! `/hsds/…`: the directory in the Open Referral UK 3.0 (HSDS-UK-3.0) shape, read-only.
//!
//! Everything is built from the in-memory snapshot. Rows we do not store on their own
//! (addresses, schedules, cost options, phones, attributes, languages, service-at-location
//! links) get ids derived from their parent's id and what they hold, so the same row keeps
//! the same id from one request, and one instance, to the next.
use axum::{
    Json,
    extract::{Path, State},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use validator::Validate;

use crate::directory::index::TextIndex;
use crate::directory::snapshot::{Directory, Hours, Location, Service, Term};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::extract::ValidatedQuery;
use crate::geo::{Gazetteer, LookupError, bounding_deltas, haversine_km};
use crate::paging::{Page, PageQuery};
use crate::state::AppState;

pub const VERSION: &str = "HSDS-UK-3.0";
pub const PROFILE: &str = "https://openreferraluk.org";
/// The one taxonomy we publish: our categories.
pub const TAXONOMY_ID: &str = "signpost";
pub const DEFAULT_PROXIMITY_M: u32 = 5_000;
pub const MAX_PROXIMITY_M: u32 = 50_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root))
        // The same answer without the trailing slash (undocumented twin).
        .route("/hsds", get(root))
        .routes(routes!(list_services))
        .routes(routes!(get_service))
        .routes(routes!(list_taxonomies))
        .routes(routes!(list_taxonomy_terms))
        .routes(routes!(list_service_at_locations))
}

// ---------------------------------------------------------------------------------------
// Response shapes (HSDS 3.0 / ORUK field names).

/// What this API is: the answer to `GET /hsds/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsRoot {
    pub version: String,
    pub profile: String,
    pub openapi_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsOrganization {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub website: Option<String>,
    pub email: Option<String>,
    /// Signpost's own fields: the organisation's slug.
    pub x_signpost: OrganizationExtension,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationExtension {
    pub slug: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsAddress {
    pub id: Uuid,
    pub location_id: Uuid,
    pub address_1: String,
    pub city: String,
    /// The London borough.
    pub state_province: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub address_type: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsLocation {
    pub id: Uuid,
    pub name: String,
    pub location_type: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub addresses: Vec<HsdsAddress>,
    /// Metres from the postcode searched for (only when one was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
}

/// A weekly opening: `byday` is an iCalendar day (`MO`…`SU`), times are London local time.
/// `closes_at` earlier than `opens_at` runs past midnight.
#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsSchedule {
    pub id: Uuid,
    pub freq: String,
    pub byday: String,
    pub opens_at: String,
    pub closes_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsServiceRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsServiceAtLocation {
    pub id: Uuid,
    /// Present in `/hsds/service_at_locations`; implied when nested in a service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<HsdsServiceRef>,
    pub location: HsdsLocation,
    pub schedules: Vec<HsdsSchedule>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsCostOption {
    pub id: Uuid,
    /// 0 for a free service; absent when the cost is only described in `option`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    pub currency: String,
    pub option: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsPhone {
    pub id: Uuid,
    pub number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsTaxonomy {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsTaxonomyTerm {
    pub id: Uuid,
    /// The category's slug.
    pub code: String,
    pub name: String,
    pub description: String,
    pub parent_id: Option<Uuid>,
    pub taxonomy: String,
    pub taxonomy_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsAttribute {
    pub id: Uuid,
    pub link_id: Uuid,
    pub link_entity: String,
    pub taxonomy_term_id: Uuid,
    pub taxonomy_term: HsdsTaxonomyTerm,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsLanguage {
    pub id: Uuid,
    pub name: String,
    /// ISO 639 code, when we know it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A service. In a list with `minimal=true` the arrays are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignpostExtension {
    pub summary: String,
    pub free: bool,
    pub accepts_self_referral: bool,
    /// Serves every London borough.
    pub all_london: bool,
    /// Borough slugs served.
    pub boroughs: Vec<String>,
    /// Programme slugs.
    pub programmes: Vec<String>,
    pub accessibility: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsService {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub url: Option<String>,
    pub email: Option<String>,
    /// Always `active`: retired services are not published.
    pub status: String,
    pub minimum_age: u8,
    pub maximum_age: u8,
    pub last_modified: DateTime<Utc>,
    /// How to get to the service.
    pub application_process: Option<String>,
    /// What it costs, in words.
    pub fees_description: Option<String>,
    pub organization: HsdsOrganization,
    /// Signpost's own fields that HSDS has no place for, so that another Signpost
    /// importing this feed loses nothing. Other readers can ignore it.
    pub x_signpost: SignpostExtension,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_at_locations: Option<Vec<HsdsServiceAtLocation>>,
    /// Every opening at every place, each saying where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedules: Option<Vec<HsdsSchedule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_options: Option<Vec<HsdsCostOption>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phones: Option<Vec<HsdsPhone>>,
    /// One per category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<HsdsAttribute>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<HsdsLanguage>>,
}

// ---------------------------------------------------------------------------------------
// Query parameters.

/// Query parameters of `GET /hsds/services`. Filters combine with AND.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServicesQuery {
    /// Words to look for (as `q` in `/v1/services`); results in relevance order.
    #[validate(length(max = 200))]
    pub search: Option<String>,
    /// A taxonomy term id (see `/hsds/taxonomy_terms`); includes the terms below it.
    pub taxonomy_term_id: Option<String>,
    /// Only services changed after this RFC 3339 time.
    pub modified_after: Option<String>,
    /// Leave out the nested arrays.
    pub minimal: Option<bool>,
    /// Services whose maximum age is at least this.
    #[validate(range(max = 120))]
    pub minimum_age: Option<u32>,
    /// Services whose minimum age is at most this.
    #[validate(range(max = 120))]
    pub maximum_age: Option<u32>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    /// Items a page: default 20, at most 100.
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

/// Query parameters of `GET /hsds/service_at_locations`.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceAtLocationsQuery {
    /// A London postcode or outward code: nearest first, with `distance` in metres.
    #[validate(length(max = 16))]
    pub postcode: Option<String>,
    /// Metres from `postcode` (default 5000, at most 50000); needs `postcode`.
    #[validate(range(min = 1, max = 50_000))]
    pub proximity: Option<u32>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    /// Items a page: default 20, at most 100.
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

/// `ServicesQuery` checked against the directory.
struct ServiceFilter {
    text: Option<String>,
    /// Sorted category indexes; a service must have one of them.
    categories: Option<Vec<usize>>,
    modified_after: Option<DateTime<Utc>>,
    minimum_age: Option<u32>,
    maximum_age: Option<u32>,
    minimal: bool,
    page: PageQuery,
}

impl ServiceFilter {
    fn resolve(query: ServicesQuery, dir: &Directory) -> ApiResult<Self> {
        let mut errors = Vec::new();
        let categories = match non_empty(query.taxonomy_term_id.as_deref()) {
            Some(raw) => match Uuid::parse_str(raw)
                .ok()
                .and_then(|id| dir.categories.iter().position(|c| c.id == id))
            {
                Some(i) => {
                    let mut all = dir.category_with_descendants(i);
                    all.sort_unstable();
                    Some(all)
                }
                None => {
                    errors.push(FieldError::new(
                        "taxonomy_term_id",
                        format!("unknown taxonomy term {raw:?}; see /hsds/taxonomy_terms"),
                    ));
                    None
                }
            },
            None => None,
        };
        let modified_after = match non_empty(query.modified_after.as_deref()) {
            Some(raw) => match parse_rfc3339(raw) {
                Some(t) => Some(t),
                None => {
                    errors.push(FieldError::new(
                        "modified_after",
                        "must be an RFC 3339 date and time, like 2026-01-31T09:00:00Z",
                    ));
                    None
                }
            },
            None => None,
        };
        if let (Some(min), Some(max)) = (query.minimum_age, query.maximum_age)
            && min > max
        {
            errors.push(FieldError::new(
                "minimum_age",
                "must not be more than maximum_age",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Self {
            text: non_empty(query.search.as_deref())
                .filter(|q| TextIndex::has_words(q))
                .map(str::to_string),
            categories,
            modified_after,
            minimum_age: query.minimum_age,
            maximum_age: query.maximum_age,
            minimal: query.minimal.unwrap_or(false),
            page: PageQuery {
                page: query.page,
                per_page: query.per_page,
            },
        })
    }

    fn keeps(&self, s: &Service) -> bool {
        self.categories
            .as_ref()
            .is_none_or(|cs| s.categories.iter().any(|c| cs.binary_search(c).is_ok()))
            && self.modified_after.is_none_or(|t| s.updated_at > t)
            && self.minimum_age.is_none_or(|n| u32::from(s.max_age) >= n)
            && self.maximum_age.is_none_or(|n| u32::from(s.min_age) <= n)
    }

    /// Matching services, by relevance with `search`, else by name.
    fn run(&self, dir: &Directory) -> Vec<usize> {
        let mut candidates: Vec<(usize, u32)> = match &self.text {
            Some(q) => dir.index.search(q),
            None => (0..dir.services.len()).map(|i| (i, 0)).collect(),
        };
        // Services are stored in name order, so the index breaks ties by name.
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        candidates
            .into_iter()
            .map(|(i, _)| i)
            .filter(|&i| self.keeps(&dir.services[i]))
            .collect()
    }
}

/// Where `service_at_locations` are measured from.
struct Origin {
    lat: f64,
    lon: f64,
    proximity_m: u32,
}

fn resolve_origin(
    query: &ServiceAtLocationsQuery,
    gazetteer: &Gazetteer,
) -> ApiResult<Option<Origin>> {
    let Some(raw) = non_empty(query.postcode.as_deref()) else {
        if query.proximity.is_some() {
            return Err(ApiError::field("proximity", "needs postcode"));
        }
        return Ok(None);
    };
    match gazetteer.resolve(raw) {
        Ok(place) => Ok(Some(Origin {
            lat: place.lat,
            lon: place.lon,
            proximity_m: query.proximity.unwrap_or(DEFAULT_PROXIMITY_M),
        })),
        Err(e) => {
            let message = match e {
                LookupError::Malformed => format!("{raw:?} {e}"),
                other => other.to_string(),
            };
            Err(ApiError::field("postcode", message))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Handlers.

/// What this API is (Open Referral UK).
#[utoipa::path(get, path = "/hsds/", tag = "hsds",
    responses((status = 200, body = HsdsRoot)))]
async fn root() -> Json<HsdsRoot> {
    Json(HsdsRoot {
        version: VERSION.into(),
        profile: PROFILE.into(),
        openapi_url: "/openapi.json".into(),
    })
}

/// Services, fully nested unless `minimal=true`.
#[utoipa::path(get, path = "/hsds/services", tag = "hsds",
    params(ServicesQuery),
    responses(
        (status = 200, description = "One page of services", body = Page<HsdsService>),
        (status = 422, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_services(
    State(state): State<AppState>,
    ValidatedQuery(query): ValidatedQuery<ServicesQuery>,
) -> ApiResult<Json<Page<HsdsService>>> {
    let dir = state.directory.load();
    let filter = ServiceFilter::resolve(query, &dir)?;
    let found = filter.run(&dir);
    let page = Page::slice(found, &filter.page).map(|i| service(&dir, i, !filter.minimal));
    Ok(Json(page))
}

/// One service, fully nested.
#[utoipa::path(get, path = "/hsds/services/{id}", tag = "hsds",
    params(("id" = String, Path, description = "Service id (UUID)")),
    responses(
        (status = 200, body = HsdsService),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The service has been retired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_service(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<HsdsService>> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::field("id", "must be a UUID"))?;
    let dir = state.directory.load();
    match dir.by_id.get(&id) {
        Some(&i) => Ok(Json(service(&dir, i, true))),
        None if dir.retired.contains(&id) => {
            Err(ApiError::Gone("this service is no longer listed".into()))
        }
        None => Err(ApiError::NotFound("no service has this id".into())),
    }
}

/// The taxonomies terms come from (just ours).
#[utoipa::path(get, path = "/hsds/taxonomies", tag = "hsds",
    params(PageQuery),
    responses(
        (status = 200, body = Page<HsdsTaxonomy>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_taxonomies(
    ValidatedQuery(page): ValidatedQuery<PageQuery>,
) -> Json<Page<HsdsTaxonomy>> {
    let all = vec![HsdsTaxonomy {
        id: TAXONOMY_ID.into(),
        name: "Signpost categories".into(),
        description: "Kinds of activity and support for young Londoners (10–25): \
                      positive activities, education, help to escape violence, health and more."
            .into(),
    }];
    Json(Page::slice(all, &page))
}

/// Every category as a taxonomy term, in name order.
#[utoipa::path(get, path = "/hsds/taxonomy_terms", tag = "hsds",
    params(PageQuery),
    responses(
        (status = 200, body = Page<HsdsTaxonomyTerm>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_taxonomy_terms(
    State(state): State<AppState>,
    ValidatedQuery(page): ValidatedQuery<PageQuery>,
) -> Json<Page<HsdsTaxonomyTerm>> {
    let dir = state.directory.load();
    let all: Vec<usize> = (0..dir.categories.len()).collect();
    Json(Page::slice(all, &page).map(|i| taxonomy_term(&dir, &dir.categories[i])))
}

/// Every service at every place; nearest first when a postcode is given.
#[utoipa::path(get, path = "/hsds/service_at_locations", tag = "hsds",
    params(ServiceAtLocationsQuery),
    responses(
        (status = 200, body = Page<HsdsServiceAtLocation>),
        (status = 422, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_service_at_locations(
    State(state): State<AppState>,
    ValidatedQuery(query): ValidatedQuery<ServiceAtLocationsQuery>,
) -> ApiResult<Json<Page<HsdsServiceAtLocation>>> {
    let origin = resolve_origin(&query, &state.gazetteer)?;
    let page = PageQuery {
        page: query.page,
        per_page: query.per_page,
    };
    let dir = state.directory.load();
    let found = places(&dir, origin.as_ref());
    Ok(Json(Page::slice(found, &page).map(|(si, li, distance)| {
        let s = &dir.services[si];
        let mut sal = service_at_location(&dir, &s.locations[li]);
        sal.service = Some(HsdsServiceRef {
            id: s.id,
            name: s.name.clone(),
        });
        sal.location.distance = distance;
        sal
    })))
}

// ---------------------------------------------------------------------------------------
// Mapping from the snapshot.

/// (service, location, metres) for every place; within reach and nearest first when
/// measured from somewhere, else in service name order.
fn places(dir: &Directory, origin: Option<&Origin>) -> Vec<(usize, usize, Option<u32>)> {
    let Some(o) = origin else {
        return dir
            .services
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.locations.len()).map(move |li| (si, li, None)))
            .collect();
    };
    let reach_km = f64::from(o.proximity_m) / 1000.0;
    let (dlat, dlon) = bounding_deltas(o.lat, reach_km);
    let mut found: Vec<(f64, usize, usize)> = Vec::new();
    for (si, s) in dir.services.iter().enumerate() {
        for (li, l) in s.locations.iter().enumerate() {
            let (Some(lat), Some(lon)) = (l.lat, l.lon) else {
                continue;
            };
            if (lat - o.lat).abs() > dlat || (lon - o.lon).abs() > dlon {
                continue;
            }
            let km = haversine_km(o.lat, o.lon, lat, lon);
            if km <= reach_km {
                found.push((km, si, li));
            }
        }
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    found
        .into_iter()
        .map(|(km, si, li)| (si, li, Some(metres(km))))
        .collect()
}

fn metres(km: f64) -> u32 {
    // At most 50 km: always fits.
    (km * 1000.0).round() as u32
}

/// A service in the HSDS shape; `nested` adds the arrays.
fn service(dir: &Directory, index: usize, nested: bool) -> HsdsService {
    let s = &dir.services[index];
    let org = &dir.organisations[s.organisation];
    let description = if s.description.trim().is_empty() {
        s.summary.clone()
    } else {
        s.description.clone()
    };
    let mut out = HsdsService {
        id: s.id,
        name: s.name.clone(),
        description,
        url: s.url.clone(),
        email: s.email.clone(),
        status: "active".into(),
        minimum_age: s.min_age,
        maximum_age: s.max_age,
        last_modified: s.updated_at,
        application_process: s.how_to_access.clone(),
        fees_description: s.cost.clone(),
        x_signpost: SignpostExtension {
            summary: s.summary.clone(),
            free: s.free,
            accepts_self_referral: s.accepts_self_referral,
            all_london: s.all_boroughs,
            boroughs: dir
                .boroughs
                .iter()
                .enumerate()
                .filter(|(i, _)| s.borough_mask & (1 << i) != 0)
                .map(|(_, b)| b.slug.clone())
                .collect(),
            programmes: s
                .programmes
                .iter()
                .map(|&p| dir.programmes[p].slug.clone())
                .collect(),
            accessibility: s.accessibility.clone(),
        },
        organization: HsdsOrganization {
            id: org.id,
            name: org.name.clone(),
            description: org.description.clone(),
            website: org.url.clone(),
            email: org.email.clone(),
            x_signpost: OrganizationExtension {
                slug: org.slug.clone(),
            },
        },
        service_at_locations: None,
        schedules: None,
        cost_options: None,
        phones: None,
        attributes: None,
        languages: None,
    };
    if nested {
        out.service_at_locations = Some(
            s.locations
                .iter()
                .map(|l| service_at_location(dir, l))
                .collect(),
        );
        out.schedules = Some(
            s.locations
                .iter()
                .flat_map(|l| {
                    l.hours.iter().filter_map(move |h| {
                        schedule(l, h, "service", Some(format!("At {}", l.name)))
                    })
                })
                .collect(),
        );
        out.cost_options = Some(cost_options(s));
        out.phones = Some(
            s.phone
                .iter()
                .map(|number| HsdsPhone {
                    id: derived_id(s.id, "phone"),
                    number: number.clone(),
                })
                .collect(),
        );
        out.attributes = Some(
            s.categories
                .iter()
                .map(|&c| {
                    let term = taxonomy_term(dir, &dir.categories[c]);
                    HsdsAttribute {
                        id: derived_id(s.id, &format!("attribute/{}", term.id)),
                        link_id: s.id,
                        link_entity: "service".into(),
                        taxonomy_term_id: term.id,
                        taxonomy_term: term,
                    }
                })
                .collect(),
        );
        out.languages = Some(
            s.languages
                .iter()
                .map(|name| HsdsLanguage {
                    id: derived_id(s.id, &format!("language/{}", name.to_lowercase())),
                    name: name.clone(),
                    code: language_code(name).map(str::to_string),
                })
                .collect(),
        );
    }
    out
}

/// A place, its address and its opening hours (without the service it belongs to).
fn service_at_location(dir: &Directory, l: &Location) -> HsdsServiceAtLocation {
    HsdsServiceAtLocation {
        id: derived_id(l.id, "service_at_location"),
        service: None,
        location: location(dir, l),
        schedules: l
            .hours
            .iter()
            .filter_map(|h| schedule(l, h, "service_at_location", None))
            .collect(),
    }
}

fn location(dir: &Directory, l: &Location) -> HsdsLocation {
    let addresses = if l.address.is_some() || l.postcode.is_some() {
        vec![HsdsAddress {
            id: derived_id(l.id, "address"),
            location_id: l.id,
            // Without a street address, the place's name is the first line.
            address_1: l.address.clone().unwrap_or_else(|| l.name.clone()),
            city: "London".into(),
            state_province: l
                .borough
                .and_then(|b| dir.boroughs.get(b))
                .map(|b| b.name.clone()),
            postal_code: l.postcode.clone(),
            country: "GB".into(),
            address_type: "physical".into(),
        }]
    } else {
        Vec::new()
    };
    HsdsLocation {
        id: l.id,
        name: l.name.clone(),
        location_type: "physical".into(),
        latitude: l.lat,
        longitude: l.lon,
        addresses,
        distance: None,
    }
}

/// One weekly opening; `scope` keeps the ids of the service-level and the
/// place-level copies apart.
fn schedule(
    l: &Location,
    h: &Hours,
    scope: &str,
    description: Option<String>,
) -> Option<HsdsSchedule> {
    let byday = byday(&h.day)?;
    Some(HsdsSchedule {
        id: derived_id(l.id, &format!("{scope}/schedule/{}/{}", h.day, h.opens)),
        freq: "WEEKLY".into(),
        byday: byday.into(),
        opens_at: h.opens.clone(),
        closes_at: h.closes.clone(),
        description,
    })
}

fn byday(day: &str) -> Option<&'static str> {
    Some(match day {
        "monday" => "MO",
        "tuesday" => "TU",
        "wednesday" => "WE",
        "thursday" => "TH",
        "friday" => "FR",
        "saturday" => "SA",
        "sunday" => "SU",
        _ => return None,
    })
}

/// Free: one option of 0 GBP. Paid: the cost as written, without an amount (we do not
/// guess one from free text). Neither: none.
fn cost_options(s: &Service) -> Vec<HsdsCostOption> {
    let text = non_empty(s.cost.as_deref()).map(str::to_string);
    let (amount, option) = match (s.free, text) {
        (true, text) => (Some(0.0), text.unwrap_or_else(|| "Free".into())),
        (false, Some(text)) => (None, text),
        (false, None) => return Vec::new(),
    };
    vec![HsdsCostOption {
        id: derived_id(s.id, "cost_option"),
        amount,
        currency: "GBP".into(),
        option,
    }]
}

fn taxonomy_term(dir: &Directory, c: &Term) -> HsdsTaxonomyTerm {
    HsdsTaxonomyTerm {
        id: c.id,
        code: c.slug.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        parent_id: c
            .parent
            .as_deref()
            .and_then(|slug| dir.category_index(slug))
            .map(|p| dir.categories[p].id),
        taxonomy: TAXONOMY_ID.into(),
        taxonomy_id: TAXONOMY_ID.into(),
    }
}

/// ISO 639-1 codes for the languages most often listed (ISO 639-3 for BSL).
fn language_code(name: &str) -> Option<&'static str> {
    const CODES: &[(&str, &str)] = &[
        ("albanian", "sq"),
        ("arabic", "ar"),
        ("bengali", "bn"),
        ("british sign language", "bfi"),
        ("bsl", "bfi"),
        ("cantonese", "yue"),
        ("chinese", "zh"),
        ("english", "en"),
        ("farsi", "fa"),
        ("french", "fr"),
        ("german", "de"),
        ("greek", "el"),
        ("gujarati", "gu"),
        ("hindi", "hi"),
        ("italian", "it"),
        ("kurdish", "ku"),
        ("lithuanian", "lt"),
        ("mandarin", "zh"),
        ("pashto", "ps"),
        ("persian", "fa"),
        ("polish", "pl"),
        ("portuguese", "pt"),
        ("punjabi", "pa"),
        ("romanian", "ro"),
        ("russian", "ru"),
        ("somali", "so"),
        ("spanish", "es"),
        ("tamil", "ta"),
        ("tigrinya", "ti"),
        ("turkish", "tr"),
        ("twi", "tw"),
        ("ukrainian", "uk"),
        ("urdu", "ur"),
        ("vietnamese", "vi"),
        ("yoruba", "yo"),
    ];
    let key = name.trim().to_lowercase();
    CODES.iter().find(|(n, _)| *n == key).map(|(_, code)| *code)
}

/// A stable id for a row that has none of its own: a version 8 UUID from a hash of its
/// parent's id and a label naming the row.
fn derived_id(parent: Uuid, label: &str) -> Uuid {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"signpost/hsds/");
    hasher.update(parent.as_bytes());
    hasher.update(label.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// RFC 3339; a `+` offset that arrived unencoded (as a space) is put back.
fn parse_rfc3339(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let parent = Uuid::nil();
        assert_eq!(derived_id(parent, "a"), derived_id(parent, "a"));
        assert_ne!(derived_id(parent, "a"), derived_id(parent, "b"));
        assert_eq!(
            derived_id(parent, "a").get_version(),
            Some(uuid::Version::Custom)
        );
    }

    #[test]
    fn rfc3339_with_an_unencoded_plus() {
        let t = parse_rfc3339("2026-06-15T13:00:00 01:00").unwrap();
        assert_eq!(t, parse_rfc3339("2026-06-15T12:00:00Z").unwrap());
        assert!(parse_rfc3339("2026-06-15").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn days_and_languages() {
        assert_eq!(byday("monday"), Some("MO"));
        assert_eq!(byday("someday"), None);
        assert_eq!(language_code(" Turkish "), Some("tr"));
        assert_eq!(language_code("Klingon"), None);
    }
}
