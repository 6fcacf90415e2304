//! What clients see: response types built from the snapshot.
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::search::{self, Hit, SearchSpec};
use super::snapshot::{Directory, Location, Service};
use crate::paging::Page;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationRef<'a> {
    pub id: Uuid,
    pub slug: &'a str,
    pub name: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TermRef<'a> {
    pub slug: &'a str,
    pub name: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoroughRefView {
    pub slug: String,
    pub gss_code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearestLocation<'a> {
    pub name: &'a str,
    pub postcode: Option<&'a str>,
    /// Borough slug.
    pub borough: Option<&'a str>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A service in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceSummary<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub summary: &'a str,
    pub organisation: OrganisationRef<'a>,
    pub programmes: Vec<TermRef<'a>>,
    pub categories: Vec<TermRef<'a>>,
    pub min_age: u8,
    pub max_age: u8,
    pub free: bool,
    /// Borough slugs the service serves.
    pub boroughs: Vec<&'a str>,
    /// True when it serves every London borough.
    pub all_london: bool,
    pub accepts_self_referral: bool,
    /// The nearest place to the one searched for (or its first place); null if it has none.
    pub nearest_location: Option<NearestLocation<'a>>,
    /// Present when a place was given; null for a service with no place of its own that
    /// serves the borough searched in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub distance_km: Option<Option<f64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoursView<'a> {
    pub day: &'a str,
    pub opens: &'a str,
    pub closes: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationView<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub address: Option<&'a str>,
    pub postcode: Option<&'a str>,
    pub borough: Option<&'a str>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub opening_hours: Vec<HoursView<'a>>,
}

/// A service in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetail<'a> {
    #[serde(flatten)]
    pub summary: ServiceSummary<'a>,
    pub description: &'a str,
    pub url: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub locations: Vec<LocationView<'a>>,
    pub languages: Vec<&'a str>,
    pub accessibility: Vec<&'a str>,
    pub cost: Option<&'a str>,
    pub how_to_access: Option<&'a str>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Slug of the parent category.
    pub parent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeView {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub url: Option<String>,
    /// False for a programme that has ended (see `successor`).
    pub active: bool,
    /// Slug of the programme that replaced it.
    pub successor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoroughView {
    pub slug: String,
    pub gss_code: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDetail<'a> {
    #[serde(flatten)]
    pub organisation: OrganisationView,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub services: Vec<ServiceSummary<'a>>,
}

fn borough_slug(dir: &Directory, i: Option<usize>) -> Option<&str> {
    i.and_then(|i| dir.boroughs.get(i)).map(|b| b.slug.as_str())
}

fn nearest<'a>(dir: &'a Directory, l: &'a Location) -> NearestLocation<'a> {
    NearestLocation {
        name: &l.name,
        postcode: l.postcode.as_deref(),
        borough: borough_slug(dir, l.borough),
        lat: l.lat,
        lon: l.lon,
    }
}

/// Runs a search and maps its page to what clients see (`GET /v1/services`).
pub fn search_page<'a>(
    dir: &'a Directory,
    spec: &SearchSpec,
    now: DateTime<Utc>,
) -> Page<ServiceSummary<'a>> {
    let found = search::run(dir, spec, now);
    let with_distance = spec.origin.is_some();
    let summaries = found
        .page
        .iter()
        .map(|h| summary(dir, h, with_distance))
        .collect();
    Page::new(summaries, found.total as u64, &spec.page)
}

/// One service as a list shows it; borrows from the snapshot, so it is serialised while
/// the snapshot is held.
pub fn summary<'a>(dir: &'a Directory, hit: &Hit, with_distance: bool) -> ServiceSummary<'a> {
    let s: &Service = &dir.services[hit.service];
    let org = &dir.organisations[s.organisation];
    ServiceSummary {
        id: s.id,
        name: &s.name,
        summary: &s.summary,
        organisation: OrganisationRef {
            id: org.id,
            slug: &org.slug,
            name: &org.name,
        },
        programmes: s
            .programmes
            .iter()
            .map(|&p| TermRef {
                slug: &dir.programmes[p].slug,
                name: &dir.programmes[p].name,
            })
            .collect(),
        categories: s
            .categories
            .iter()
            .map(|&c| TermRef {
                slug: &dir.categories[c].slug,
                name: &dir.categories[c].name,
            })
            .collect(),
        min_age: s.min_age,
        max_age: s.max_age,
        free: s.free,
        boroughs: dir
            .boroughs
            .iter()
            .enumerate()
            .filter(|(i, _)| s.borough_mask & (1 << i) != 0)
            .map(|(_, b)| b.slug.as_str())
            .collect(),
        all_london: s.all_boroughs,
        accepts_self_referral: s.accepts_self_referral,
        nearest_location: hit
            .nearest
            .and_then(|i| s.locations.get(i))
            .map(|l| nearest(dir, l)),
        distance_km: with_distance.then_some(hit.distance_km),
    }
}

pub fn detail(dir: &Directory, index: usize) -> ServiceDetail<'_> {
    let s = &dir.services[index];
    ServiceDetail {
        summary: summary(dir, &Hit::without_place(dir, index), false),
        description: &s.description,
        url: s.url.as_deref(),
        email: s.email.as_deref(),
        phone: s.phone.as_deref(),
        locations: s
            .locations
            .iter()
            .map(|l| LocationView {
                id: l.id,
                name: &l.name,
                address: l.address.as_deref(),
                postcode: l.postcode.as_deref(),
                borough: borough_slug(dir, l.borough),
                lat: l.lat,
                lon: l.lon,
                opening_hours: l
                    .hours
                    .iter()
                    .map(|h| HoursView {
                        day: &h.day,
                        opens: &h.opens,
                        closes: &h.closes,
                    })
                    .collect(),
            })
            .collect(),
        languages: s.languages.iter().map(String::as_str).collect(),
        accessibility: s.accessibility.iter().map(String::as_str).collect(),
        cost: s.cost.as_deref(),
        how_to_access: s.how_to_access.as_deref(),
        updated_at: s.updated_at,
    }
}

pub fn organisation_view(o: &super::snapshot::Organisation) -> OrganisationView {
    OrganisationView {
        id: o.id,
        slug: o.slug.clone(),
        name: o.name.clone(),
        description: o.description.clone(),
        url: o.url.clone(),
    }
}
