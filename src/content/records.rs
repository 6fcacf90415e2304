//! Validated directory records, ready to write: what `content/` files (and, later, other
//! sources) become once every reference is resolved.
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::files::{ContentError, OrganisationFile, Parsed, ServiceFile};
use crate::geo::{Gazetteer, Postcode};

pub const MIN_AGE: i64 = 10;
pub const MAX_AGE: i64 = 25;
pub const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

#[derive(Debug, Clone, Serialize)]
pub struct OrganisationRecord {
    /// The id to use when the record is new (an import keeps its source's UUIDs).
    pub preferred_id: Option<uuid::Uuid>,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceRecord {
    /// The id to use when the record is new (an import keeps its source's UUIDs).
    pub preferred_id: Option<uuid::Uuid>,
    /// Unique within its source.
    pub key: String,
    pub organisation_slug: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub programmes: Vec<String>,
    pub categories: Vec<String>,
    pub min_age: i32,
    pub max_age: i32,
    pub free: bool,
    pub cost: Option<String>,
    pub accepts_self_referral: bool,
    pub how_to_access: Option<String>,
    pub all_boroughs: bool,
    pub borough_ids: Vec<i32>,
    pub languages: Vec<String>,
    pub accessibility: Vec<String>,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locations: Vec<LocationRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocationRecord {
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub borough_id: Option<i32>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub hours: Vec<HoursRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoursRecord {
    pub day: String,
    pub opens: String,
    pub closes: String,
}

impl ServiceRecord {
    /// Changes whenever anything written for the service would change.
    pub fn hash(&self, organisation_id: &str) -> String {
        let json = serde_json::to_vec(&(self, organisation_id)).unwrap_or_default();
        blake3::hash(&json).to_hex()[..32].to_string()
    }
}

/// What references are checked against.
pub struct Known<'a> {
    pub programmes: &'a HashSet<String>,
    pub categories: &'a HashSet<String>,
    pub gazetteer: &'a Gazetteer,
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// `HH:MM` (00:00–24:00) to minutes after midnight.
pub fn parse_time(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    ((h < 24 && m < 60) || (h == 24 && m == 0)).then_some(h * 60 + m)
}

pub fn parse_day(s: &str) -> Option<&'static str> {
    let s = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|d| **d == s || (s.len() >= 3 && d.starts_with(&s)))
        .copied()
}

/// Checks one organisation file. Any error rejects the whole file: nothing from a
/// broken file is loaded.
pub fn validate_organisation(
    parsed: &Parsed<OrganisationFile>,
    known: &Known<'_>,
) -> Result<(OrganisationRecord, Vec<ServiceRecord>), Vec<ContentError>> {
    let org = &parsed.value;
    let mut errors = Vec::new();
    let expected = parsed
        .file
        .rsplit('/')
        .next()
        .and_then(|n| n.strip_suffix(".toml"))
        .unwrap_or_default();
    if !is_slug(&org.slug) {
        errors.push(parsed.error_at(None, "slug", "use lowercase letters, digits and dashes"));
    } else if org.slug != expected {
        errors.push(parsed.error_at(
            None,
            "slug",
            format!("must match the file name ({expected})"),
        ));
    }
    if org.name.trim().is_empty() {
        errors.push(parsed.error_at(None, "name", "must not be empty"));
    }
    check_contact(parsed, None, &org.url, &org.email, &mut errors);

    let mut services = Vec::new();
    let mut slugs = HashSet::new();
    for (i, s) in org.services.iter().enumerate() {
        let at = Some(("services", i));
        if !slugs.insert(s.slug.clone()) {
            errors.push(parsed.error_at(
                at,
                "slug",
                format!("{} is used twice in this file", s.slug),
            ));
        }
        if let Some(record) = validate_service(parsed, i, s, known, &mut errors) {
            services.push(record);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((
        OrganisationRecord {
            preferred_id: None,
            slug: org.slug.clone(),
            name: org.name.trim().to_string(),
            description: org.description.trim().to_string(),
            url: non_empty(org.url.clone()),
            email: non_empty(org.email.clone()),
            phone: non_empty(org.phone.clone()),
        },
        services,
    ))
}

fn check_contact(
    parsed: &Parsed<OrganisationFile>,
    at: Option<(&str, usize)>,
    url: &Option<String>,
    email: &Option<String>,
    errors: &mut Vec<ContentError>,
) {
    if let Some(u) = url.as_deref().filter(|u| !u.trim().is_empty())
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        errors.push(parsed.error_at(at, "url", "must start with https://"));
    }
    if let Some(e) = email.as_deref().filter(|e| !e.trim().is_empty())
        && !validator::ValidateEmail::validate_email(&e)
    {
        errors.push(parsed.error_at(at, "email", "is not an email address"));
    }
}

fn validate_service(
    parsed: &Parsed<OrganisationFile>,
    index: usize,
    s: &ServiceFile,
    known: &Known<'_>,
    errors: &mut Vec<ContentError>,
) -> Option<ServiceRecord> {
    let at = Some(("services", index));
    let before = errors.len();
    let mut err = |field: &str, msg: String| errors.push(parsed.error_at(at, field, msg));
    if !is_slug(&s.slug) {
        err("slug", "use lowercase letters, digits and dashes".into());
    }
    if s.name.trim().is_empty() {
        err("name", "must not be empty".into());
    }
    if s.summary.trim().is_empty() {
        err("summary", "must not be empty".into());
    } else if s.summary.chars().count() > 300 {
        err("summary", "must be at most 300 characters".into());
    }
    let min_age = s.min_age.unwrap_or(MIN_AGE);
    let max_age = s.max_age.unwrap_or(MAX_AGE);
    for (field, age) in [("min_age", min_age), ("max_age", max_age)] {
        if !(MIN_AGE..=MAX_AGE).contains(&age) {
            err(field, format!("must be between {MIN_AGE} and {MAX_AGE}"));
        }
    }
    if min_age > max_age {
        err("max_age", "must not be less than min_age".into());
    }
    for p in &s.programmes {
        if !known.programmes.contains(p) {
            err(
                "programmes",
                format!("unknown programme {p:?} (see programmes.toml)"),
            );
        }
    }
    for c in &s.categories {
        if !known.categories.contains(c) {
            err(
                "categories",
                format!("unknown category {c:?} (see categories.toml)"),
            );
        }
    }
    let mut all_boroughs = false;
    let mut borough_ids = Vec::new();
    for b in &s.boroughs {
        if b.eq_ignore_ascii_case("all") {
            all_boroughs = true;
        } else if let Some(found) = known.gazetteer.borough(b) {
            if !borough_ids.contains(&found.id) {
                borough_ids.push(found.id);
            }
        } else {
            err("boroughs", format!("unknown borough {b:?}"));
        }
    }
    if all_boroughs {
        borough_ids = known.gazetteer.boroughs().iter().map(|b| b.id).collect();
    }
    borough_ids.sort_unstable();

    let mut locations = Vec::new();
    for loc in &s.locations {
        if loc.name.trim().is_empty() {
            err("locations.name", "must not be empty".into());
        }
        let mut record = LocationRecord {
            name: loc.name.trim().to_string(),
            address: non_empty(loc.address.clone()),
            postcode: None,
            borough_id: None,
            lat: loc.lat,
            lon: loc.lon,
            hours: Vec::new(),
        };
        if let Some(raw) = loc.postcode.as_deref() {
            match Postcode::parse(raw).and_then(|pc| known.gazetteer.postcode(&pc)) {
                Some(place) => {
                    record.postcode = place.postcode;
                    record.borough_id = Some(place.borough.id);
                    record.lat = record.lat.or(Some(place.lat));
                    record.lon = record.lon.or(Some(place.lon));
                }
                None => err(
                    "postcode",
                    format!("{raw:?} is not a London postcode in content/data/postcodes.csv.gz"),
                ),
            }
        }
        match (record.lat, record.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    err("lat", "is not a valid coordinate".into());
                } else if record.borough_id.is_none() {
                    record.borough_id = known.gazetteer.borough_at(lat, lon).map(|b| b.id);
                }
            }
            (None, None) => {}
            _ => err("lat", "give both lat and lon, or a postcode".into()),
        }
        for h in &loc.opening_hours {
            let day = parse_day(&h.day);
            let (opens, closes) = (parse_time(&h.opens), parse_time(&h.closes));
            if day.is_none() {
                err("day", format!("{:?} is not a day of the week", h.day));
            }
            if opens.is_none() || opens == Some(24 * 60) {
                err("opens", format!("{:?} is not a time like 09:30", h.opens));
            }
            if closes.is_none() {
                err("closes", format!("{:?} is not a time like 17:00", h.closes));
            }
            if opens.is_some() && opens == closes {
                err("closes", "must differ from opens".into());
            }
            if let (Some(day), Some(_), Some(_)) = (day, opens, closes) {
                record.hours.push(HoursRecord {
                    day: day.to_string(),
                    opens: h.opens.trim().to_string(),
                    closes: h.closes.trim().to_string(),
                });
            }
        }
        locations.push(record);
    }
    check_contact(parsed, at, &s.url, &s.email, errors);
    if errors.len() > before {
        return None;
    }
    Some(ServiceRecord {
        preferred_id: None,
        key: s.slug.clone(),
        organisation_slug: parsed.value.slug.clone(),
        name: s.name.trim().to_string(),
        summary: s.summary.trim().to_string(),
        description: s.description.trim().to_string(),
        programmes: s.programmes.clone(),
        categories: s.categories.clone(),
        min_age: min_age as i32,
        max_age: max_age as i32,
        free: s.free.unwrap_or(false),
        cost: non_empty(s.cost.clone()),
        accepts_self_referral: s.accepts_self_referral.unwrap_or(false),
        how_to_access: non_empty(s.how_to_access.clone()),
        all_boroughs,
        borough_ids,
        languages: s.languages.clone(),
        accessibility: s.accessibility.clone(),
        url: non_empty(s.url.clone()),
        email: non_empty(s.email.clone()),
        phone: non_empty(s.phone.clone()),
        locations,
    })
}

/// Category parents must exist and must not loop.
pub fn check_category_tree(
    parents: &HashMap<String, Option<String>>,
) -> Result<(), (String, String)> {
    for (slug, parent) in parents {
        let mut seen = HashSet::from([slug.as_str()]);
        let mut cur = parent.as_deref();
        while let Some(p) = cur {
            if !parents.contains_key(p) {
                return Err((slug.clone(), format!("unknown parent {p:?}")));
            }
            if !seen.insert(p) {
                return Err((slug.clone(), "parents form a loop".into()));
            }
            cur = parents.get(p).and_then(|x| x.as_deref());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_days() {
        assert_eq!(parse_time("09:30"), Some(570));
        assert_eq!(parse_time("24:00"), Some(1440));
        assert_eq!(parse_time("24:01"), None);
        assert_eq!(parse_time("9:30"), None);
        assert_eq!(parse_time("noon"), None);
        assert_eq!(parse_day("Mon"), Some("monday"));
        assert_eq!(parse_day("sunday"), Some("sunday"));
        assert_eq!(parse_day("funday"), None);
    }

    #[test]
    fn category_loops_are_found() {
        let tree = HashMap::from([
            ("a".to_string(), Some("b".to_string())),
            ("b".to_string(), Some("a".to_string())),
        ]);
        assert!(check_category_tree(&tree).is_err());
        let tree = HashMap::from([
            ("a".to_string(), None),
            ("b".to_string(), Some("a".to_string())),
        ]);
        assert!(check_category_tree(&tree).is_ok());
    }
}
