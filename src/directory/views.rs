//! What clients see: response types built from the snapshot.
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::search::{self, Hit, SearchSpec};
use super::snapshot::{Directory, Location, Service};
use crate::paging::Page;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TermRef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoroughRefView {
    pub slug: String,
    pub gss_code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearestLocation {
    pub name: String,
    pub postcode: Option<String>,
    /// Borough slug.
    pub borough: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A service in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceSummary {
    pub id: Uuid,
    pub name: String,
    pub summary: String,
    pub organisation: OrganisationRef,
    pub programmes: Vec<TermRef>,
    pub categories: Vec<TermRef>,
    pub min_age: u8,
    pub max_age: u8,
    pub free: bool,
    /// Borough slugs the service serves.
    pub boroughs: Vec<String>,
    /// True when it serves every London borough.
    pub all_london: bool,
    pub accepts_self_referral: bool,
    /// The nearest place to the one searched for (or its first place); null if it has none.
    pub nearest_location: Option<NearestLocation>,
    /// Present when a place was given; null for a service with no place of its own that
    /// serves the borough searched in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub distance_km: Option<Option<f64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoursView {
    pub day: String,
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationView {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub borough: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub opening_hours: Vec<HoursView>,
}

/// A service in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub summary: ServiceSummary,
    pub description: String,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locations: Vec<LocationView>,
    pub languages: Vec<String>,
    pub accessibility: Vec<String>,
    pub cost: Option<String>,
    pub how_to_access: Option<String>,
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
pub struct OrganisationDetail {
    #[serde(flatten)]
    pub organisation: OrganisationView,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub services: Vec<ServiceSummary>,
}

fn borough_slug(dir: &Directory, i: Option<usize>) -> Option<String> {
    i.and_then(|i| dir.boroughs.get(i)).map(|b| b.slug.clone())
}

fn nearest(dir: &Directory, l: &Location) -> NearestLocation {
    NearestLocation {
        name: l.name.clone(),
        postcode: l.postcode.clone(),
        borough: borough_slug(dir, l.borough),
        lat: l.lat,
        lon: l.lon,
    }
}

/// Runs a search and maps its page to what clients see (`GET /v1/services`).
pub fn search_page(dir: &Directory, spec: &SearchSpec, now: DateTime<Utc>) -> Page<ServiceSummary> {
    let found = search::run(dir, spec, now);
    let with_distance = spec.origin.is_some();
    let summaries = found
        .page
        .iter()
        .map(|h| summary(dir, h, with_distance))
        .collect();
    Page::new(summaries, found.total as u64, &spec.page)
}

pub fn summary(dir: &Directory, hit: &Hit, with_distance: bool) -> ServiceSummary {
    let s: &Service = &dir.services[hit.service];
    let org = &dir.organisations[s.organisation];
    ServiceSummary {
        id: s.id,
        name: s.name.clone(),
        summary: s.summary.clone(),
        organisation: OrganisationRef {
            id: org.id,
            slug: org.slug.clone(),
            name: org.name.clone(),
        },
        programmes: s
            .programmes
            .iter()
            .map(|&p| TermRef {
                slug: dir.programmes[p].slug.clone(),
                name: dir.programmes[p].name.clone(),
            })
            .collect(),
        categories: s
            .categories
            .iter()
            .map(|&c| TermRef {
                slug: dir.categories[c].slug.clone(),
                name: dir.categories[c].name.clone(),
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
            .map(|(_, b)| b.slug.clone())
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

pub fn detail(dir: &Directory, index: usize) -> ServiceDetail {
    let s = &dir.services[index];
    let hit = Hit {
        service: index,
        distance_km: None,
        nearest: (!s.locations.is_empty()).then_some(0),
    };
    ServiceDetail {
        summary: summary(dir, &hit, false),
        description: s.description.clone(),
        url: s.url.clone(),
        email: s.email.clone(),
        phone: s.phone.clone(),
        locations: s
            .locations
            .iter()
            .map(|l| LocationView {
                id: l.id,
                name: l.name.clone(),
                address: l.address.clone(),
                postcode: l.postcode.clone(),
                borough: borough_slug(dir, l.borough),
                lat: l.lat,
                lon: l.lon,
                opening_hours: l
                    .hours
                    .iter()
                    .map(|h| HoursView {
                        day: h.day.clone(),
                        opens: h.opens.clone(),
                        closes: h.closes.clone(),
                    })
                    .collect(),
            })
            .collect(),
        languages: s.languages.clone(),
        accessibility: s.accessibility.clone(),
        cost: s.cost.clone(),
        how_to_access: s.how_to_access.clone(),
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
