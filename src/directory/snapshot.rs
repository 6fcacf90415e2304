//! The directory as an immutable in-memory snapshot, rebuilt from the database whenever
//! its revision changes. Searches read it without touching the database.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::index::TextIndex;
use super::opening::WeekIntervals;
use super::store;
use crate::entities::{
    category, location, opening_hours, organisation, programme, service, service_borough,
    service_category, service_programme,
};
use crate::geo::Gazetteer;

#[derive(Debug, Clone)]
pub struct Term {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Programme {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub url: Option<String>,
    pub successor: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct Organisation {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Indexes into `Directory::services`.
    pub services: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Hours {
    pub day: String,
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub borough: Option<usize>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub hours: Vec<Hours>,
    pub week: WeekIntervals,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: Uuid,
    pub name: String,
    pub name_lower: String,
    pub summary: String,
    pub description: String,
    pub organisation: usize,
    pub programmes: Vec<usize>,
    pub categories: Vec<usize>,
    pub min_age: u8,
    pub max_age: u8,
    pub free: bool,
    pub cost: Option<String>,
    pub accepts_self_referral: bool,
    pub how_to_access: Option<String>,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub languages: Vec<String>,
    pub accessibility: Vec<String>,
    pub all_boroughs: bool,
    /// Bit `i` set: serves `Directory::boroughs[i]` (listed, or where it has a location).
    pub borough_mask: u64,
    pub locations: Vec<Location>,
    pub updated_at: DateTime<Utc>,
}

/// Borough as the directory shows it.
#[derive(Debug, Clone)]
pub struct BoroughRef {
    pub id: i32,
    pub slug: String,
    pub gss_code: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

pub struct Directory {
    pub revision: i64,
    pub services: Vec<Service>,
    pub by_id: HashMap<Uuid, usize>,
    /// Services that once existed and were retired: they answer 410, not 404.
    pub retired: HashSet<Uuid>,
    pub organisations: Vec<Organisation>,
    pub organisations_by_id: HashMap<Uuid, usize>,
    pub programmes: Vec<Programme>,
    pub categories: Vec<Term>,
    pub boroughs: Vec<BoroughRef>,
    pub index: TextIndex,
}

impl Directory {
    pub fn empty(gazetteer: &Gazetteer) -> Self {
        Self {
            revision: -1,
            services: Vec::new(),
            by_id: HashMap::new(),
            retired: HashSet::new(),
            organisations: Vec::new(),
            organisations_by_id: HashMap::new(),
            programmes: Vec::new(),
            categories: Vec::new(),
            boroughs: boroughs_of(gazetteer),
            index: TextIndex::default(),
        }
    }

    pub fn category_index(&self, slug: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.slug == slug)
    }

    pub fn programme_index(&self, slug: &str) -> Option<usize> {
        self.programmes.iter().position(|p| p.slug == slug)
    }

    /// A category and everything below it.
    pub fn category_with_descendants(&self, index: usize) -> Vec<usize> {
        let mut out = vec![index];
        let mut i = 0;
        while i < out.len() {
            let slug = &self.categories[out[i]].slug;
            for (j, c) in self.categories.iter().enumerate() {
                if c.parent.as_deref() == Some(slug) && !out.contains(&j) {
                    out.push(j);
                }
            }
            i += 1;
        }
        out
    }

    pub fn borough_index(&self, slug_or_code: &str) -> Option<usize> {
        let s = slug_or_code.trim();
        self.boroughs
            .iter()
            .position(|b| b.slug.eq_ignore_ascii_case(s) || b.gss_code.eq_ignore_ascii_case(s))
    }

    pub fn borough_index_by_id(&self, id: i32) -> Option<usize> {
        self.boroughs.iter().position(|b| b.id == id)
    }
}

fn boroughs_of(gazetteer: &Gazetteer) -> Vec<BoroughRef> {
    gazetteer
        .boroughs()
        .iter()
        .map(|b| BoroughRef {
            id: b.id,
            slug: b.slug.clone(),
            gss_code: b.gss_code.clone(),
            name: b.name.clone(),
            lat: b.lat,
            lon: b.lon,
        })
        .collect()
}

/// Every row of `E`, grouped by `key`, read as a stream: the big tables never sit in
/// memory twice (as driver rows and as models) while the snapshot is built.
async fn group_rows<E, K, V>(
    db: &DatabaseConnection,
    key: impl Fn(E::Model) -> (K, V),
) -> Result<HashMap<K, Vec<V>>, DbErr>
where
    E: EntityTrait,
    E::Model: Send,
    K: std::hash::Hash + Eq,
{
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    let mut rows = E::find().stream(db).await?;
    while let Some(row) = rows.try_next().await? {
        let (k, v) = key(row);
        map.entry(k).or_default().push(v);
    }
    Ok(map)
}

/// Builds a snapshot of everything active.
pub async fn load(db: &DatabaseConnection, gazetteer: &Gazetteer) -> Result<Directory, DbErr> {
    let revision = store::current_revision(db).await?;
    let mut dir = Directory::empty(gazetteer);
    dir.revision = revision;

    let mut programmes: Vec<programme::Model> = programme::Entity::find().all(db).await?;
    programmes.sort_by(|a, b| a.name.cmp(&b.name));
    dir.programmes = programmes
        .into_iter()
        .map(|p| Programme {
            id: p.id,
            slug: p.slug,
            name: p.name,
            summary: p.summary,
            description: p.description,
            url: p.url,
            successor: p.successor_slug,
            active: p.active,
        })
        .collect();
    let mut categories: Vec<category::Model> = category::Entity::find()
        .filter(category::Column::Active.eq(true))
        .all(db)
        .await?;
    categories.sort_by(|a, b| a.name.cmp(&b.name));
    dir.categories = categories
        .into_iter()
        .map(|c| Term {
            id: c.id,
            slug: c.slug,
            name: c.name,
            description: c.description,
            parent: c.parent_slug,
        })
        .collect();
    let programme_pos: HashMap<Uuid, usize> = dir
        .programmes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    let category_pos: HashMap<Uuid, usize> = dir
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id, i))
        .collect();

    let mut orgs: Vec<organisation::Model> = organisation::Entity::find()
        .filter(organisation::Column::Active.eq(true))
        .all(db)
        .await?;
    orgs.sort_by(|a, b| a.name.cmp(&b.name));
    dir.organisations = orgs
        .into_iter()
        .map(|o| Organisation {
            id: o.id,
            slug: o.slug,
            name: o.name,
            description: o.description,
            url: o.url,
            email: o.email,
            phone: o.phone,
            services: Vec::new(),
        })
        .collect();
    dir.organisations_by_id = dir
        .organisations
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id, i))
        .collect();

    let borough_pos: HashMap<i32, usize> = dir
        .boroughs
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id, i))
        .collect();
    let joins_b =
        group_rows::<service_borough::Entity, _, _>(db, |r| (r.service_id, r.borough_id)).await?;
    let joins_p =
        group_rows::<service_programme::Entity, _, _>(db, |r| (r.service_id, r.programme_id))
            .await?;
    let joins_c =
        group_rows::<service_category::Entity, _, _>(db, |r| (r.service_id, r.category_id)).await?;
    let mut hours = group_rows::<opening_hours::Entity, _, _>(db, |h| (h.location_id, h)).await?;
    let mut locations = group_rows::<location::Entity, _, _>(db, |l| (l.service_id, l)).await?;

    let mut services = Vec::new();
    let mut rows = service::Entity::find().stream(db).await?;
    while let Some(s) = rows.try_next().await? {
        if !s.active {
            dir.retired.insert(s.id);
            continue;
        }
        let Some(&org) = dir.organisations_by_id.get(&s.organisation_id) else {
            continue;
        };
        let mut locs = locations.remove(&s.id).unwrap_or_default();
        locs.sort_by_key(|l| l.position);
        let locs: Vec<Location> = locs
            .into_iter()
            .map(|l| {
                let mut h: Vec<Hours> = hours
                    .remove(&l.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| Hours {
                        day: h.day,
                        opens: h.opens,
                        closes: h.closes,
                    })
                    .collect();
                h.sort_by_key(|x| {
                    (
                        crate::content::records::DAYS
                            .iter()
                            .position(|d| *d == x.day),
                        x.opens.clone(),
                    )
                });
                Location {
                    id: l.id,
                    name: l.name,
                    address: l.address,
                    postcode: l.postcode,
                    borough: l.borough_id.and_then(|b| borough_pos.get(&b).copied()),
                    lat: l.lat,
                    lon: l.lon,
                    week: WeekIntervals::from_hours(&h),
                    hours: h,
                }
            })
            .collect();
        let mut mask = 0u64;
        if s.all_boroughs {
            mask = (1u64 << dir.boroughs.len()) - 1;
        }
        for b in joins_b.get(&s.id).into_iter().flatten() {
            if let Some(&i) = borough_pos.get(b) {
                mask |= 1 << i;
            }
        }
        for l in &locs {
            if let Some(i) = l.borough {
                mask |= 1 << i;
            }
        }
        let pick = |ids: Option<&Vec<Uuid>>, pos: &HashMap<Uuid, usize>| -> Vec<usize> {
            let mut v: Vec<usize> = ids
                .into_iter()
                .flatten()
                .filter_map(|id| pos.get(id).copied())
                .collect();
            v.sort_unstable();
            v
        };
        services.push(Service {
            id: s.id,
            name_lower: s.name.to_lowercase(),
            name: s.name,
            summary: s.summary,
            description: s.description,
            organisation: org,
            programmes: pick(joins_p.get(&s.id), &programme_pos),
            categories: pick(joins_c.get(&s.id), &category_pos),
            min_age: u8::try_from(s.min_age).unwrap_or(10),
            max_age: u8::try_from(s.max_age).unwrap_or(25),
            free: s.free,
            cost: s.cost,
            accepts_self_referral: s.accepts_self_referral,
            how_to_access: s.how_to_access,
            url: s.url,
            email: s.email,
            phone: s.phone,
            languages: serde_json::from_str(&s.languages).unwrap_or_default(),
            accessibility: serde_json::from_str(&s.accessibility).unwrap_or_default(),
            all_boroughs: s.all_boroughs,
            borough_mask: mask,
            locations: locs,
            updated_at: s.updated_at,
        });
    }
    drop(rows);
    // Streamed in, so the vector grew by doubling: give the slack back.
    services.shrink_to_fit();
    // Name order is the default order, and ties in every other order fall back to it.
    services.sort_by(|a, b| a.name_lower.cmp(&b.name_lower).then(a.id.cmp(&b.id)));
    for (i, s) in services.iter().enumerate() {
        dir.organisations[s.organisation].services.push(i);
    }
    dir.by_id = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i))
        .collect();
    dir.index = TextIndex::build(&services, &dir.organisations, &dir.categories);
    dir.services = services;
    Ok(dir)
}
