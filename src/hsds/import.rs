//! `signpost import hsds <source>`: Open Referral UK (HSDS 3.0) services from a file (a
//! JSON array, a page envelope, or NDJSON streamed line by line) or an ORUK API walked page
//! by page. Each record remembers its source and HSDS id, so re-importing changes only what
//! changed, a record gone from a full re-import is retired, and imported and `content/`
//! services never retire each other. A bad record is reported (which, which field, why)
//! and skipped; nothing is half-written.
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::OnConflict,
};
use serde_json::Value;
use uuid::Uuid;

use crate::content::records::{
    HoursRecord, LocationRecord, OrganisationRecord, ServiceRecord, parse_time,
};
use crate::directory::store::{self, Counts};
use crate::entities::{category, organisation, programme};
use crate::geo::{Gazetteer, Postcode};
use crate::state::AppState;

/// Records written per transaction.
const BATCH: usize = 500;
/// Largest HTTP response read from a feed.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
const MAX_PAGES: u32 = 10_000;
const USER_AGENT: &str = concat!(
    "signpost-importer/",
    env!("CARGO_PKG_VERSION"),
    " (Open Referral UK import)"
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The record's HSDS id, or its position in the source.
    pub record: String,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}: {}: {}", self.record, self.field, self.reason)
    }
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub counts: Counts,
    pub rejected: Vec<Rejection>,
    /// True when the whole source was read (only then are missing records retired).
    pub complete: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the source could not be read: {0}")]
pub struct SourceError(pub String);

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Names the source; records are matched within it. Default: derived from the source.
    pub source_name: Option<String>,
    pub dry_run: bool,
    /// Retries of a failed HTTP request, and the first delay (doubling each time).
    pub http_retries: u32,
    pub http_backoff: Duration,
    pub http_timeout: Duration,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            source_name: None,
            dry_run: false,
            http_retries: 5,
            http_backoff: Duration::from_millis(500),
            http_timeout: Duration::from_secs(30),
        }
    }
}

fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(80).collect()
}

fn source_tag(source: &str) -> String {
    let tag = slugify(
        source
            .trim_start_matches("https://")
            .trim_start_matches("http://"),
    );
    if tag.is_empty() { "feed".into() } else { tag }
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn reject(record: &str, field: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        record: record.to_string(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Our taxonomy, to match imported terms against.
struct Terms {
    /// our slug by slug, code and lowercased name
    lookup: HashMap<String, String>,
    programmes: HashSet<String>,
    /// terms with no match, to create: slug → (name, description)
    new: HashMap<String, (String, String)>,
}

impl Terms {
    fn resolve(&mut self, term: &Value) -> Option<String> {
        let code = text(term, "code");
        let name = text(term, "name");
        for candidate in [
            code.clone(),
            name.as_ref().map(|n| slugify(n)),
            name.as_ref().map(|n| n.to_lowercase()),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(slug) = self.lookup.get(&candidate) {
                return Some(slug.clone());
            }
        }
        let label = name.clone().or(code.clone())?;
        let slug = format!("hsds-{}", slugify(code.as_deref().unwrap_or(&label)));
        self.new
            .entry(slug.clone())
            .or_insert_with(|| (label, text(term, "description").unwrap_or_default()));
        self.lookup.insert(slug.clone(), slug.clone());
        Some(slug)
    }
}

struct Mapper<'a> {
    gazetteer: &'a Gazetteer,
    terms: Terms,
    /// organisation slugs held by other sources
    foreign_org_slugs: HashSet<String>,
    /// this import's organisations: HSDS id (or name) → our slug
    org_slugs: HashMap<String, String>,
    tag: String,
}

fn summary_of(description: &str, name: &str) -> String {
    let d = description.trim();
    if d.is_empty() {
        return name.to_string();
    }
    let first = d.split_inclusive(". ").next().unwrap_or(d).trim();
    if first.chars().count() <= 200 {
        return first.to_string();
    }
    let mut out: String = first.chars().take(197).collect();
    if let Some(i) = out.rfind(' ') {
        out.truncate(i);
    }
    out.push('…');
    out
}

const BYDAY: [(&str, &str); 7] = [
    ("MO", "monday"),
    ("TU", "tuesday"),
    ("WE", "wednesday"),
    ("TH", "thursday"),
    ("FR", "friday"),
    ("SA", "saturday"),
    ("SU", "sunday"),
];

/// `09:00` or `09:00:00` (or with a zone) to `09:00`.
fn hhmm(raw: &str) -> Option<String> {
    let t: String = raw.trim().chars().take(5).collect();
    parse_time(&t).map(|_| t)
}

fn schedules(v: &Value, record: &str, path: &str) -> Result<Vec<HoursRecord>, Rejection> {
    let mut out = Vec::new();
    for (i, s) in v
        .get("schedules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = format!("{path}schedules[{i}]");
        let (Some(opens), Some(closes)) = (text(s, "opens_at"), text(s, "closes_at")) else {
            continue;
        };
        let opens = hhmm(&opens)
            .ok_or_else(|| reject(record, &format!("{field}.opens_at"), "is not a time"))?;
        let closes = hhmm(&closes)
            .ok_or_else(|| reject(record, &format!("{field}.closes_at"), "is not a time"))?;
        let byday = text(s, "byday").unwrap_or_else(|| "MO,TU,WE,TH,FR,SA,SU".into());
        for d in byday.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let code = d.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
            let day = BYDAY
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(code))
                .ok_or_else(|| {
                    reject(
                        record,
                        &format!("{field}.byday"),
                        format!("{d:?} is not a day code like MO"),
                    )
                })?;
            out.push(HoursRecord {
                day: day.1.to_string(),
                opens: opens.clone(),
                closes: closes.clone(),
            });
        }
    }
    Ok(out)
}

impl Mapper<'_> {
    fn organisation(&mut self, v: &Value, record: &str) -> Result<OrganisationRecord, Rejection> {
        let org = v.get("organization").filter(|o| o.is_object());
        let name = org.and_then(|o| text(o, "name")).ok_or_else(|| {
            reject(
                record,
                "organization.name",
                "every service needs its organisation's name",
            )
        })?;
        let hsds_id = org
            .and_then(|o| text(o, "id"))
            .or_else(|| text(v, "organization_id"));
        let key = hsds_id.clone().unwrap_or_else(|| name.clone());
        let slug = match self.org_slugs.get(&key) {
            Some(s) => s.clone(),
            None => {
                // Another Signpost publishes its slug; otherwise one is made from the name.
                let published = org
                    .and_then(|o| o.get("x_signpost"))
                    .and_then(|x| text(x, "slug"))
                    .map(|s| slugify(&s))
                    .filter(|s| !s.is_empty());
                let mut slug = published.unwrap_or_else(|| slugify(&name));
                let in_use = |s: &str, me: &Self| {
                    me.foreign_org_slugs.contains(s) || me.org_slugs.values().any(|x| x == s)
                };
                if slug.is_empty() || in_use(&slug, self) {
                    let suffix =
                        &blake3::hash(format!("{}:{key}", self.tag).as_bytes()).to_hex()[..8];
                    slug = format!(
                        "{}-{suffix}",
                        if slug.is_empty() {
                            "organisation"
                        } else {
                            &slug
                        }
                    );
                }
                self.org_slugs.insert(key, slug.clone());
                slug
            }
        };
        let o = org.cloned().unwrap_or(Value::Null);
        Ok(OrganisationRecord {
            preferred_id: hsds_id.as_deref().and_then(|i| Uuid::parse_str(i).ok()),
            slug,
            name,
            description: text(&o, "description").unwrap_or_default(),
            url: text(&o, "website")
                .or_else(|| text(&o, "url"))
                .filter(|u| u.starts_with("http")),
            email: text(&o, "email").filter(|e| validator::ValidateEmail::validate_email(&e)),
            phone: None,
        })
    }

    fn service(
        &mut self,
        v: &Value,
        position: usize,
    ) -> Result<(OrganisationRecord, ServiceRecord), Rejection> {
        let position_label = format!("#{position}");
        let id = text(v, "id")
            .ok_or_else(|| reject(&position_label, "id", "every service needs an id"))?;
        let record = id.as_str();
        let name =
            text(v, "name").ok_or_else(|| reject(record, "name", "every service needs a name"))?;
        let org = self.organisation(v, record)?;
        let ext = v.get("x_signpost").cloned().unwrap_or(Value::Null);
        let description = text(v, "description").unwrap_or_default();

        let age = |key: &str| -> Result<Option<i64>, Rejection> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_f64()
                    .filter(|a| (0.0..=120.0).contains(a))
                    .map(|a| Some(a as i64))
                    .ok_or_else(|| reject(record, key, "must be an age from 0 to 120")),
                Some(_) => Err(reject(record, key, "must be a number")),
            }
        };
        let (lo, hi) = (
            age("minimum_age")?.unwrap_or(10),
            age("maximum_age")?.unwrap_or(25),
        );
        if lo > hi {
            return Err(reject(record, "maximum_age", "is less than minimum_age"));
        }
        if hi < 10 || lo > 25 {
            return Err(reject(
                record,
                "minimum_age",
                format!("ages {lo}–{hi} are outside the 10–25 this directory serves"),
            ));
        }
        let url = text(v, "url");
        if let Some(u) = &url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(reject(record, "url", "must be an http or https URL"));
        }
        let email = text(v, "email");
        if let Some(e) = &email
            && !validator::ValidateEmail::validate_email(e)
        {
            return Err(reject(record, "email", "is not an email address"));
        }

        let mut locations = Vec::new();
        for (i, sal) in v
            .get("service_at_locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = format!("service_at_locations[{i}]");
            let loc = sal.get("location").unwrap_or(sal);
            let address = loc
                .get("addresses")
                .and_then(Value::as_array)
                .and_then(|a| a.first());
            let postcode = address.and_then(|a| text(a, "postal_code"));
            let mut record_loc = LocationRecord {
                name: text(loc, "name").unwrap_or_else(|| name.clone()),
                address: address.and_then(|a| text(a, "address_1")),
                postcode: None,
                borough_id: None,
                lat: loc.get("latitude").and_then(Value::as_f64),
                lon: loc.get("longitude").and_then(Value::as_f64),
                hours: schedules(sal, record, &format!("{path}."))?,
            };
            if let Some(raw) = postcode {
                let pc = Postcode::parse(&raw).ok_or_else(|| {
                    reject(
                        record,
                        &format!("{path}.location.addresses[0].postal_code"),
                        format!("{raw:?} is not a UK postcode"),
                    )
                })?;
                record_loc.postcode = Some(pc.to_string());
                if let Some(place) = self.gazetteer.postcode(&pc) {
                    record_loc.borough_id = Some(place.borough.id);
                    record_loc.lat = record_loc.lat.or(Some(place.lat));
                    record_loc.lon = record_loc.lon.or(Some(place.lon));
                }
            }
            if let (Some(lat), Some(lon)) = (record_loc.lat, record_loc.lon) {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(reject(
                        record,
                        &format!("{path}.location.latitude"),
                        "is not a coordinate",
                    ));
                }
                if record_loc.borough_id.is_none() {
                    record_loc.borough_id = self.gazetteer.borough_at(lat, lon).map(|b| b.id);
                }
            } else {
                record_loc.lat = None;
                record_loc.lon = None;
            }
            locations.push(record_loc);
        }
        let service_hours = schedules(v, record, "")?;
        if !service_hours.is_empty() {
            for l in locations.iter_mut().filter(|l| l.hours.is_empty()) {
                l.hours = service_hours.clone();
            }
        }

        let mut categories = Vec::new();
        let mut programmes = Vec::new();
        for a in v
            .get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(term) = a.get("taxonomy_term") else {
                continue;
            };
            if text(term, "taxonomy").as_deref() == Some("signpost-programmes") {
                if let Some(code) = text(term, "code").filter(|c| self.terms.programmes.contains(c))
                {
                    programmes.push(code);
                }
                continue;
            }
            if let Some(slug) = self.terms.resolve(term)
                && !categories.contains(&slug)
            {
                categories.push(slug);
            }
        }

        let costs = v
            .get("cost_options")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let free = costs.is_empty()
            || costs
                .iter()
                .any(|c| c.get("amount").and_then(Value::as_f64) == Some(0.0));
        let cost =
            text(v, "fees_description").or_else(|| costs.iter().find_map(|c| text(c, "option")));
        let phone = v
            .get("phones")
            .and_then(Value::as_array)
            .and_then(|p| p.first())
            .and_then(|p| text(p, "number"));
        let languages: Vec<String> = v
            .get("languages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_string).or_else(|| text(l, "name")))
            .collect();

        // Our own extension, when the feed is another Signpost: nothing is lost.
        let ext_list = |key: &str| -> Option<Vec<String>> {
            ext.get(key)?.as_array().map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
        };
        let all_boroughs = ext
            .get("all_london")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut borough_ids: Vec<i32> = if all_boroughs {
            self.gazetteer.boroughs().iter().map(|b| b.id).collect()
        } else {
            ext_list("boroughs")
                .unwrap_or_default()
                .iter()
                .filter_map(|b| self.gazetteer.borough(b).map(|x| x.id))
                .collect()
        };
        borough_ids.sort_unstable();
        borough_ids.dedup();
        if let Some(p) = ext_list("programmes") {
            programmes = p
                .into_iter()
                .filter(|x| self.terms.programmes.contains(x))
                .collect();
        }

        Ok((
            org.clone(),
            ServiceRecord {
                preferred_id: Uuid::parse_str(&id).ok(),
                key: id.clone(),
                organisation_slug: org.slug,
                summary: text(&ext, "summary").unwrap_or_else(|| summary_of(&description, &name)),
                name,
                description,
                programmes,
                categories,
                min_age: lo.clamp(10, 25) as i32,
                max_age: hi.clamp(10, 25) as i32,
                free: ext.get("free").and_then(Value::as_bool).unwrap_or(free),
                cost,
                accepts_self_referral: ext
                    .get("accepts_self_referral")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                how_to_access: text(v, "application_process"),
                all_boroughs,
                borough_ids,
                languages,
                accessibility: ext_list("accessibility").unwrap_or_default(),
                url,
                email,
                phone,
                locations,
            },
        ))
    }
}

/// Where records come from.
enum Feed {
    Records(Vec<Value>),
    /// NDJSON, one record a line; `first` was read to tell the format.
    Lines {
        first: Option<Value>,
        reader: BufReader<std::fs::File>,
    },
}

fn contents(mut v: Value) -> Vec<Value> {
    match v.get_mut("contents").map(Value::take) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

fn open_file(path: &Path) -> Result<Feed, SourceError> {
    let read_err = |e: std::io::Error| SourceError(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut reader = BufReader::new(file);
    let first_byte = reader
        .fill_buf()
        .map_err(read_err)?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace());
    match first_byte {
        None => Ok(Feed::Records(Vec::new())),
        Some(b'[') => {
            let list: Vec<Value> = serde_json::from_reader(reader)
                .map_err(|e| SourceError(format!("not a JSON array: {e}")))?;
            Ok(Feed::Records(list))
        }
        Some(b'{') => {
            // NDJSON when the first line is a whole record; otherwise one page envelope.
            let mut first_line = String::new();
            reader.read_line(&mut first_line).map_err(read_err)?;
            match serde_json::from_str::<Value>(&first_line) {
                Ok(v) if v.get("contents").is_some_and(Value::is_array) => {
                    Ok(Feed::Records(contents(v)))
                }
                Ok(v) => Ok(Feed::Lines {
                    first: Some(v),
                    reader,
                }),
                Err(_) => {
                    let mut all = first_line;
                    reader.read_to_string(&mut all).map_err(read_err)?;
                    let v: Value = serde_json::from_str(&all)
                        .map_err(|e| SourceError(format!("not JSON: {e}")))?;
                    Ok(Feed::Records(
                        if v.get("contents").is_some_and(Value::is_array) {
                            contents(v)
                        } else {
                            vec![v]
                        },
                    ))
                }
            }
        }
        Some(_) => Err(SourceError(
            "not JSON: expected an array, a page envelope or NDJSON".into(),
        )),
    }
}

/// GET with a timeout, retries with exponential backoff on 5xx and network errors, and a
/// limit on the size read.
async fn fetch_json(
    client: &reqwest::Client,
    url: &str,
    opts: &ImportOptions,
) -> Result<Value, SourceError> {
    let mut delay = opts.http_backoff;
    let mut last = String::new();
    for attempt in 0..=opts.http_retries {
        if attempt > 0 {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
        let res = match client.get(url).send().await {
            Ok(r) => r,
            Err(e) => {
                last = if e.is_timeout() {
                    "timed out".into()
                } else {
                    "could not connect".into()
                };
                continue;
            }
        };
        let status = res.status();
        if status.is_server_error() || status.as_u16() == 429 {
            last = format!("HTTP {status}");
            continue;
        }
        if !status.is_success() {
            return Err(SourceError(format!("{url}: HTTP {status}")));
        }
        if res
            .content_length()
            .is_some_and(|n| n as usize > MAX_RESPONSE_BYTES)
        {
            return Err(SourceError(format!(
                "{url}: the response is larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        let mut res = res;
        let mut body = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_RESPONSE_BYTES {
                        return Err(SourceError(format!(
                            "{url}: the response is larger than {MAX_RESPONSE_BYTES} bytes"
                        )));
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    last = "the connection broke".into();
                    body.clear();
                    break;
                }
            }
        }
        if body.is_empty() && !last.is_empty() && last == "the connection broke" {
            continue;
        }
        return serde_json::from_slice(&body)
            .map_err(|e| SourceError(format!("{url}: not JSON: {e}")));
    }
    Err(SourceError(format!(
        "{url}: {last} after {} tries",
        opts.http_retries + 1
    )))
}

/// Whether a list item lacks what a full service has (then its own page is fetched).
fn is_partial(v: &Value) -> bool {
    v.get("organization").is_none() || v.get("service_at_locations").is_none()
}

/// Writes a batch in its own transaction (rolled back for a dry run).
async fn write_batch(
    state: &AppState,
    source: &str,
    mapper: &mut Mapper<'_>,
    batch: &mut Vec<(OrganisationRecord, ServiceRecord)>,
    report: &mut ImportReport,
    dry_run: bool,
) -> Result<(), sea_orm::DbErr> {
    if batch.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    if !mapper.terms.new.is_empty() {
        let rows: Vec<category::ActiveModel> = mapper
            .terms
            .new
            .drain()
            .map(|(slug, (name, description))| category::ActiveModel {
                id: Set(Uuid::now_v7()),
                slug: Set(slug),
                name: Set(name),
                description: Set(description),
                parent_slug: Set(None),
                active: Set(true),
                source: Set(source.to_string()),
                updated_at: Set(now),
            })
            .collect();
        category::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(category::Column::Slug)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let mut orgs: Vec<(OrganisationRecord, Option<String>)> = Vec::new();
    let mut seen = HashSet::new();
    for (o, _) in batch.iter() {
        if seen.insert(o.slug.clone()) {
            orgs.push((o.clone(), None));
        }
    }
    let (org_ids, _) = store::upsert_organisations(&txn, source, &orgs, now).await?;
    let services: Vec<(ServiceRecord, Option<String>)> =
        batch.drain(..).map(|(_, s)| (s, None)).collect();
    let counts = store::apply_services(
        &txn,
        source,
        &services,
        &org_ids,
        &HashSet::new(),
        false,
        now,
    )
    .await?;
    report.counts.created += counts.created;
    report.counts.updated += counts.updated;
    report.counts.unchanged += counts.unchanged;
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(())
}

/// One import as its records stream through: mapped one by one, written a batch at a time.
struct Run<'a> {
    state: &'a AppState,
    source: String,
    dry_run: bool,
    mapper: Mapper<'a>,
    batch: Vec<(OrganisationRecord, ServiceRecord)>,
    /// Every HSDS id seen: what a full re-import no longer lists is retired.
    keys: HashSet<String>,
    position: usize,
    report: ImportReport,
}

impl Run<'_> {
    /// Maps one record (or reports why not), and writes the batch once it is full.
    async fn take(&mut self, v: Value) -> Result<(), sea_orm::DbErr> {
        self.position += 1;
        match self.mapper.service(&v, self.position) {
            Ok((o, s)) if self.keys.insert(s.key.clone()) => self.batch.push((o, s)),
            Ok((_, s)) => {
                self.report
                    .rejected
                    .push(reject(&s.key, "id", "appears twice in this source"))
            }
            Err(r) => self.report.rejected.push(r),
        }
        if self.batch.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), sea_orm::DbErr> {
        write_batch(
            self.state,
            &self.source,
            &mut self.mapper,
            &mut self.batch,
            &mut self.report,
            self.dry_run,
        )
        .await
    }
}

/// Imports from a file path or an `http(s)://` base URL.
pub async fn import(
    state: &AppState,
    location: &str,
    opts: &ImportOptions,
) -> Result<ImportReport, SourceError> {
    let tag = opts
        .source_name
        .clone()
        .map_or_else(|| source_tag(location), |n| slugify(&n));
    let source = format!("hsds:{tag}");
    let db_err = |e: sea_orm::DbErr| SourceError(format!("database: {e}"));

    let categories = category::Entity::find()
        .all(&state.db)
        .await
        .map_err(db_err)?;
    let mut lookup = HashMap::new();
    for c in &categories {
        lookup.insert(c.slug.clone(), c.slug.clone());
        lookup.insert(c.name.to_lowercase(), c.slug.clone());
    }
    let programmes: HashSet<String> = programme::Entity::find()
        .all(&state.db)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    let foreign_org_slugs: HashSet<String> = organisation::Entity::find()
        .filter(organisation::Column::Source.ne(source.clone()))
        .all(&state.db)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|o| o.slug)
        .collect();
    let mapper = Mapper {
        gazetteer: &state.gazetteer,
        terms: Terms {
            lookup,
            programmes,
            new: HashMap::new(),
        },
        foreign_org_slugs,
        org_slugs: HashMap::new(),
        tag: tag.clone(),
    };

    let mut run = Run {
        state,
        source: source.clone(),
        dry_run: opts.dry_run,
        mapper,
        batch: Vec::new(),
        keys: HashSet::new(),
        position: 0,
        report: ImportReport::default(),
    };

    if location.starts_with("http://") || location.starts_with("https://") {
        let client = reqwest::Client::builder()
            .timeout(opts.http_timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| SourceError(e.to_string()))?;
        let base = location.trim_end_matches('/');
        let mut page = 1;
        loop {
            let url = format!("{base}/services?page={page}&per_page=100");
            let envelope = fetch_json(&client, &url, opts).await?;
            let last_page = envelope.get("last_page").and_then(Value::as_bool);
            let total_pages = envelope.get("total_pages").and_then(Value::as_u64);
            let items = contents(envelope);
            let empty = items.is_empty();
            for item in items {
                let full = match text(&item, "id").filter(|_| is_partial(&item)) {
                    Some(id) => fetch_json(&client, &format!("{base}/services/{id}"), opts).await?,
                    None => item,
                };
                run.take(full).await.map_err(db_err)?;
            }
            let done = last_page.unwrap_or(false)
                || total_pages.is_some_and(|t| u64::from(page) >= t)
                || empty;
            if done || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
    } else {
        match open_file(Path::new(location))? {
            Feed::Records(list) => {
                for v in list {
                    run.take(v).await.map_err(db_err)?;
                }
            }
            Feed::Lines { first, reader } => {
                if let Some(v) = first {
                    run.take(v).await.map_err(db_err)?;
                }
                for (n, line) in reader.lines().enumerate() {
                    let line = line.map_err(|e| SourceError(format!("{location}: {e}")))?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<Value>(&line) {
                        Ok(v) => run.take(v).await.map_err(db_err)?,
                        Err(e) => run.report.rejected.push(reject(
                            &format!("line {}", n + 2),
                            "(json)",
                            format!("not JSON: {e}"),
                        )),
                    }
                }
            }
        }
    }
    run.flush().await.map_err(db_err)?;
    let Run {
        mut report,
        mapper,
        keys,
        ..
    } = run;
    report.complete = true;

    // The whole source was read: what it no longer lists is retired.
    let now = state.clock.now();
    let txn = state.db.begin().await.map_err(db_err)?;
    let retired = store::retire_services_except(&txn, &source, &keys, now)
        .await
        .map_err(db_err)?;
    let kept_orgs: HashSet<String> = mapper.org_slugs.values().cloned().collect();
    store::retire_organisations(&txn, &source, &kept_orgs, &HashSet::new(), now)
        .await
        .map_err(db_err)?;
    report.counts.retired = retired;
    if report.counts.changed() {
        store::bump_revision(&txn, now).await.map_err(db_err)?;
    }
    if opts.dry_run {
        txn.rollback().await.map_err(db_err)?;
    } else {
        txn.commit().await.map_err(db_err)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_and_times() {
        assert_eq!(
            summary_of("Boxing for all. Tuesdays too.", "x"),
            "Boxing for all."
        );
        assert_eq!(summary_of("", "Name"), "Name");
        assert!(summary_of(&"word ".repeat(100), "x").chars().count() <= 200);
        assert_eq!(hhmm("09:00:00").as_deref(), Some("09:00"));
        assert_eq!(hhmm("9am"), None);
        assert_eq!(slugify("St Giles Trust!"), "st-giles-trust");
        assert_eq!(source_tag("https://example.org/api/"), "example-org-api");
    }
}
