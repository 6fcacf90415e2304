//! `GET /v1/services`: parameters checked against the directory, then filtered, placed
//! and ordered in memory.
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::opening::london_minute_of_week;
use super::snapshot::Directory;
use crate::error::{ApiError, FieldError};
use crate::geo::{Gazetteer, LookupError, bounding_deltas, haversine_km};
use crate::paging::PageQuery;

pub const DEFAULT_RADIUS_KM: f64 = 5.0;
pub const MAX_RADIUS_KM: f64 = 50.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Relevance,
    Distance,
    Name,
}

/// Query parameters of `GET /v1/services`. Filters combine with AND.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceSearchQuery {
    /// Words to look for in name, summary, description, organisation and categories.
    #[validate(length(max = 200))]
    pub q: Option<String>,
    /// Category slug; repeat it or give a comma list for "any of". Includes sub-categories.
    #[serde(default)]
    pub category: Vec<String>,
    /// Programme slug.
    pub programme: Option<String>,
    /// Borough slug (`hackney`) or GSS code (`E09000012`).
    pub borough: Option<String>,
    /// Services whose age range includes this age.
    #[validate(range(min = 10, max = 25))]
    pub age: Option<u32>,
    /// Only free services (`true`) or only paid ones (`false`).
    pub free: Option<bool>,
    /// Only services open now, in Europe/London time.
    pub open_now: Option<bool>,
    /// A full postcode or an outward code.
    #[validate(length(max = 16))]
    pub near: Option<String>,
    #[validate(range(min = -90.0, max = 90.0))]
    pub lat: Option<f64>,
    #[validate(range(min = -180.0, max = 180.0))]
    pub lon: Option<f64>,
    /// Search radius in km: default 5 with a place, at most 50.
    #[validate(range(exclusive_min = 0.0, max = 50.0))]
    pub radius_km: Option<f64>,
    /// `relevance` (default with `q`), `distance` (default with a place), else `name`.
    pub sort: Option<SortOrder>,
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub lat: f64,
    pub lon: f64,
    pub borough: Option<usize>,
}

/// A search whose every parameter is known to be good.
#[derive(Debug)]
pub struct SearchSpec {
    pub text: Option<String>,
    pub categories: Option<Vec<usize>>,
    pub programme: Option<usize>,
    pub borough: Option<usize>,
    pub age: Option<u8>,
    pub free: Option<bool>,
    pub open_now: bool,
    pub origin: Option<Origin>,
    pub radius_km: f64,
    pub sort: SortOrder,
    pub page: PageQuery,
}

/// One hit: the service, its distance and nearest location when a place was given.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub service: usize,
    pub distance_km: Option<f64>,
    pub nearest: Option<usize>,
}

impl Hit {
    /// A service shown without a place searched for: no distance, its first location.
    pub fn without_place(dir: &Directory, service: usize) -> Self {
        Self {
            service,
            distance_km: None,
            nearest: (!dir.services[service].locations.is_empty()).then_some(0),
        }
    }
}

impl SearchSpec {
    pub fn resolve(
        query: ServiceSearchQuery,
        dir: &Directory,
        gazetteer: &Gazetteer,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let mut categories = Vec::new();
        for slug in query
            .category
            .iter()
            .flat_map(|c| c.split(','))
            .map(str::trim)
        {
            if slug.is_empty() {
                continue;
            }
            match dir.category_index(slug) {
                Some(i) => categories.extend(dir.category_with_descendants(i)),
                None => errors.push(FieldError::new(
                    "category",
                    format!("unknown category {slug:?}; see /v1/categories"),
                )),
            }
        }
        let programme = query
            .programme
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let programme = match programme {
            Some(slug) => match dir.programme_index(slug) {
                Some(i) => Some(i),
                None => {
                    errors.push(FieldError::new(
                        "programme",
                        format!("unknown programme {slug:?}; see /v1/programmes"),
                    ));
                    None
                }
            },
            None => None,
        };
        let borough = match query
            .borough
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(b) => match dir.borough_index(b) {
                Some(i) => Some(i),
                None => {
                    errors.push(FieldError::new(
                        "borough",
                        format!("unknown borough {b:?}; use a slug like hackney or a GSS code; see /v1/boroughs"),
                    ));
                    None
                }
            },
            None => None,
        };
        let near = query
            .near
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let origin = match (near, query.lat, query.lon) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                errors.push(FieldError::new(
                    "near",
                    "give near or lat and lon, not both",
                ));
                None
            }
            (Some(raw), None, None) => match gazetteer.resolve(raw) {
                Ok(place) => Some(Origin {
                    lat: place.lat,
                    lon: place.lon,
                    borough: dir.borough_index_by_id(place.borough.id),
                }),
                Err(e) => {
                    let message = match e {
                        LookupError::Malformed => format!("{raw:?} {e}"),
                        other => other.to_string(),
                    };
                    errors.push(FieldError::new("near", message));
                    None
                }
            },
            (None, Some(lat), Some(lon)) => Some(Origin {
                lat,
                lon,
                borough: gazetteer
                    .borough_at(lat, lon)
                    .and_then(|b| dir.borough_index_by_id(b.id)),
            }),
            (None, Some(_), None) => {
                errors.push(FieldError::new("lon", "is required with lat"));
                None
            }
            (None, None, Some(_)) => {
                errors.push(FieldError::new("lat", "is required with lon"));
                None
            }
            (None, None, None) => None,
        };
        let has_place = near.is_some() || query.lat.is_some() || query.lon.is_some();
        if query.radius_km.is_some() && !has_place {
            errors.push(FieldError::new("radius_km", "needs near, or lat and lon"));
        }
        let text = query
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| super::index::TextIndex::has_words(q))
            .map(str::to_string);
        let sort = match query.sort {
            Some(SortOrder::Distance) if !has_place => {
                errors.push(FieldError::new(
                    "sort",
                    "distance needs near, or lat and lon",
                ));
                SortOrder::Name
            }
            Some(s) => s,
            None if text.is_some() => SortOrder::Relevance,
            None if has_place => SortOrder::Distance,
            None => SortOrder::Name,
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        categories.sort_unstable();
        categories.dedup();
        Ok(Self {
            text,
            categories: (!categories.is_empty()).then_some(categories),
            programme,
            borough,
            age: query.age.and_then(|a| u8::try_from(a).ok()),
            free: query.free,
            open_now: query.open_now.unwrap_or(false),
            origin,
            radius_km: query.radius_km.unwrap_or(DEFAULT_RADIUS_KM),
            sort,
            page: PageQuery {
                page: query.page,
                per_page: query.per_page,
            },
        })
    }
}

/// What a search found: how many services match, and the requested page of them in order.
#[derive(Debug)]
pub struct Found {
    pub total: usize,
    pub page: Vec<Hit>,
}

/// Runs a search and orders only what the requested page needs: every match is counted,
/// but only the first `offset + per_page` are put in order.
pub fn run(dir: &Directory, spec: &SearchSpec, now: chrono::DateTime<chrono::Utc>) -> Found {
    let minute = spec.open_now.then(|| london_minute_of_week(now));
    let bbox = spec
        .origin
        .map(|o| (o, bounding_deltas(o.lat, spec.radius_km)));
    let offset = spec.page.offset();
    let wanted = offset.saturating_add(spec.page.per_page() as usize);
    let matches = |i: usize| -> Option<Hit> {
        let s = &dir.services[i];
        if spec.age.is_some_and(|a| a < s.min_age || a > s.max_age)
            || spec.free.is_some_and(|f| f != s.free)
            || spec.programme.is_some_and(|p| !s.programmes.contains(&p))
            || spec.borough.is_some_and(|b| s.borough_mask & (1 << b) == 0)
            || spec
                .categories
                .as_ref()
                .is_some_and(|cs| !s.categories.iter().any(|c| cs.binary_search(c).is_ok()))
            || minute.is_some_and(|m| !s.locations.iter().any(|l| l.week.contains(m)))
        {
            return None;
        }
        let mut hit = Hit::without_place(dir, i);
        if let Some((o, (dlat, dlon))) = bbox {
            let mut best: Option<(f64, usize)> = None;
            let mut has_coordinates = false;
            for (li, l) in s.locations.iter().enumerate() {
                let (Some(lat), Some(lon)) = (l.lat, l.lon) else {
                    continue;
                };
                has_coordinates = true;
                if (lat - o.lat).abs() > dlat || (lon - o.lon).abs() > dlon {
                    continue;
                }
                let d = haversine_km(o.lat, o.lon, lat, lon);
                if d <= spec.radius_km && best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, li));
                }
            }
            match best {
                Some((d, li)) => {
                    hit.distance_km = Some((d * 100.0).round() / 100.0);
                    hit.nearest = Some(li);
                }
                // No place of its own, but it serves the borough the place is in.
                None if !has_coordinates
                    && o.borough.is_some_and(|b| s.borough_mask & (1 << b) != 0) => {}
                None => return None,
            }
        }
        Some(hit)
    };

    // (service, text score), in service order either way.
    let candidates: Box<dyn Iterator<Item = (usize, u32)>> = match &spec.text {
        Some(q) => Box::new(dir.index.search(q).into_iter()),
        None => Box::new((0..dir.services.len()).map(|i| (i, 0))),
    };
    let found = candidates.filter_map(|(i, score)| matches(i).map(|h| (h, score)));

    // Services are stored in name order: name order needs no sorting, only counting past
    // the page.
    if spec.sort == SortOrder::Name {
        let mut total = 0;
        let mut page = Vec::new();
        for (hit, _) in found {
            if (offset..wanted).contains(&total) {
                page.push(hit);
            }
            total += 1;
        }
        return Found { total, page };
    }

    let mut hits: Vec<(Hit, u32)> = found.collect();
    let total = hits.len();
    // Ties fall back to the service's position, which is name order.
    let order = |a: &(Hit, u32), b: &(Hit, u32)| match spec.sort {
        SortOrder::Relevance => b.1.cmp(&a.1).then(a.0.service.cmp(&b.0.service)),
        _ => {
            let da = a.0.distance_km.unwrap_or(f64::INFINITY);
            let db = b.0.distance_km.unwrap_or(f64::INFINITY);
            da.total_cmp(&db).then(a.0.service.cmp(&b.0.service))
        }
    };
    if wanted < hits.len() {
        hits.select_nth_unstable_by(wanted, order);
        hits.truncate(wanted);
    }
    // The order is total (the service breaks every tie), so an unstable sort is exact.
    hits.sort_unstable_by(order);
    let page = hits.into_iter().skip(offset).map(|(h, _)| h).collect();
    Found { total, page }
}
