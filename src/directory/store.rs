//! Writes to the directory tables. Content sync (and later imports) call these inside
//! one transaction; unchanged records are not rewritten.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use crate::content::files::{CategoryFile, ProgrammeFile};
use crate::content::records::{OrganisationRecord, ServiceRecord};
use crate::entities::{
    borough, category, directory_revision, location, opening_hours, organisation, programme,
    service, service_borough, service_category, service_programme,
};
use crate::geo::Gazetteer;

/// Rows per multi-row INSERT: well under SQLite's bound-parameter limit.
const CHUNK: usize = 400;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub retired: usize,
}

impl Counts {
    pub fn changed(&self) -> bool {
        self.created + self.updated + self.retired > 0
    }
}

pub async fn upsert_boroughs<C: ConnectionTrait>(
    db: &C,
    gazetteer: &Gazetteer,
) -> Result<(), DbErr> {
    let rows: Vec<borough::ActiveModel> = gazetteer
        .boroughs()
        .iter()
        .map(|b| borough::ActiveModel {
            id: Set(b.id),
            slug: Set(b.slug.clone()),
            gss_code: Set(b.gss_code.clone()),
            name: Set(b.name.clone()),
            lat: Set(b.lat),
            lon: Set(b.lon),
        })
        .collect();
    borough::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(borough::Column::Id)
                .update_columns([
                    borough::Column::Slug,
                    borough::Column::GssCode,
                    borough::Column::Name,
                    borough::Column::Lat,
                    borough::Column::Lon,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Makes the programmes table match the file; programmes no longer listed are retired.
pub async fn sync_programmes<C: ConnectionTrait>(
    db: &C,
    items: &[ProgrammeFile],
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let existing: HashMap<String, programme::Model> = programme::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.slug.clone(), m))
        .collect();
    let mut changed = false;
    let mut listed = HashSet::new();
    for p in items {
        listed.insert(p.slug.clone());
        let active = p.active.unwrap_or(true);
        let wanted = programme::Model {
            id: existing.get(&p.slug).map_or_else(Uuid::now_v7, |m| m.id),
            slug: p.slug.clone(),
            name: p.name.trim().to_string(),
            summary: p.summary.trim().to_string(),
            description: p.description.trim().to_string(),
            url: p.url.clone().filter(|u| !u.trim().is_empty()),
            successor_slug: p.successor.clone(),
            active,
            updated_at: now,
        };
        match existing.get(&p.slug) {
            Some(old) if same_programme(old, &wanted) => {}
            Some(_) => {
                programme::ActiveModel::from(wanted)
                    .reset_all()
                    .update(db)
                    .await?;
                changed = true;
            }
            None => {
                programme::ActiveModel::from(wanted).insert(db).await?;
                changed = true;
            }
        }
    }
    for old in existing.values() {
        if old.active && !listed.contains(&old.slug) {
            let mut am: programme::ActiveModel = old.clone().into();
            am.active = Set(false);
            am.updated_at = Set(now);
            am.update(db).await?;
            changed = true;
        }
    }
    Ok(changed)
}

fn same_programme(a: &programme::Model, b: &programme::Model) -> bool {
    (
        &a.name,
        &a.summary,
        &a.description,
        &a.url,
        &a.successor_slug,
        a.active,
    ) == (
        &b.name,
        &b.summary,
        &b.description,
        &b.url,
        &b.successor_slug,
        b.active,
    )
}

pub async fn sync_categories<C: ConnectionTrait>(
    db: &C,
    items: &[CategoryFile],
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let existing: HashMap<String, category::Model> = category::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.slug.clone(), m))
        .collect();
    let mut changed = false;
    let mut listed = HashSet::new();
    for c in items {
        listed.insert(c.slug.clone());
        let wanted = category::Model {
            id: existing.get(&c.slug).map_or_else(Uuid::now_v7, |m| m.id),
            slug: c.slug.clone(),
            name: c.name.trim().to_string(),
            description: c.description.trim().to_string(),
            parent_slug: c.parent.clone(),
            active: true,
            source: "content".into(),
            updated_at: now,
        };
        match existing.get(&c.slug) {
            Some(old)
                if (&old.name, &old.description, &old.parent_slug, old.active)
                    == (&wanted.name, &wanted.description, &wanted.parent_slug, true) => {}
            Some(_) => {
                category::ActiveModel::from(wanted)
                    .reset_all()
                    .update(db)
                    .await?;
                changed = true;
            }
            None => {
                category::ActiveModel::from(wanted).insert(db).await?;
                changed = true;
            }
        }
    }
    for old in existing.values() {
        if old.active && old.source == "content" && !listed.contains(&old.slug) {
            let mut am: category::ActiveModel = old.clone().into();
            am.active = Set(false);
            am.updated_at = Set(now);
            am.update(db).await?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Upserts organisations from one source. Returns every organisation's id by slug.
pub async fn upsert_organisations<C: ConnectionTrait>(
    db: &C,
    source: &str,
    items: &[(OrganisationRecord, Option<String>)],
    now: DateTime<Utc>,
) -> Result<(HashMap<String, Uuid>, bool), DbErr> {
    let existing: HashMap<String, organisation::Model> = organisation::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.slug.clone(), m))
        .collect();
    let mut ids: HashMap<String, Uuid> = existing.iter().map(|(s, m)| (s.clone(), m.id)).collect();
    let mut changed = false;
    for (org, file) in items {
        let hash =
            blake3::hash(&serde_json::to_vec(org).unwrap_or_default()).to_hex()[..32].to_string();
        let id = existing
            .get(&org.slug)
            .map(|m| m.id)
            .or(org.preferred_id)
            .unwrap_or_else(Uuid::now_v7);
        ids.insert(org.slug.clone(), id);
        let wanted = organisation::Model {
            id,
            slug: org.slug.clone(),
            name: org.name.clone(),
            description: org.description.clone(),
            url: org.url.clone(),
            email: org.email.clone(),
            phone: org.phone.clone(),
            source: source.to_string(),
            source_file: file.clone(),
            active: true,
            content_hash: hash.clone(),
            updated_at: now,
        };
        match existing.get(&org.slug) {
            Some(old) if old.active && old.content_hash == hash && old.source_file == *file => {}
            Some(_) => {
                organisation::ActiveModel::from(wanted)
                    .reset_all()
                    .update(db)
                    .await?;
                changed = true;
            }
            None => {
                organisation::ActiveModel::from(wanted).insert(db).await?;
                changed = true;
            }
        }
    }
    Ok((ids, changed))
}

/// Retires a source's organisations that are neither listed nor in a protected file.
pub async fn retire_organisations<C: ConnectionTrait>(
    db: &C,
    source: &str,
    keep_slugs: &HashSet<String>,
    protected_files: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut changed = false;
    for old in organisation::Entity::find()
        .filter(organisation::Column::Source.eq(source))
        .filter(organisation::Column::Active.eq(true))
        .all(db)
        .await?
    {
        let protected = old
            .source_file
            .as_ref()
            .is_some_and(|f| protected_files.contains(f));
        if !keep_slugs.contains(&old.slug) && !protected {
            let mut am: organisation::ActiveModel = old.into();
            am.active = Set(false);
            am.updated_at = Set(now);
            am.update(db).await?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Makes a source's services match `items`: creates, updates (only when the record's hash
/// changed), and, with `retire_missing`, retires those no longer listed unless they came
/// from a protected (broken) file.
/// A stored service as far as `apply_services` needs to know it.
#[derive(Debug, FromQueryResult)]
struct ExistingService {
    id: Uuid,
    source_key: String,
    source_file: Option<String>,
    active: bool,
    content_hash: String,
    created_at: DateTime<Utc>,
}

pub async fn apply_services<C: ConnectionTrait>(
    db: &C,
    source: &str,
    items: &[(ServiceRecord, Option<String>)],
    organisation_ids: &HashMap<String, Uuid>,
    protected_files: &HashSet<String>,
    retire_missing: bool,
    now: DateTime<Utc>,
) -> Result<Counts, DbErr> {
    // Without retiring, only this batch's own records matter (imports write in batches).
    let mut query = service::Entity::find().filter(service::Column::Source.eq(source));
    if !retire_missing {
        query = query
            .filter(service::Column::SourceKey.is_in(items.iter().map(|(r, _)| r.key.clone())));
    }
    // Only what the comparison needs: descriptions and the rest stay in the database.
    let existing: HashMap<String, ExistingService> = query
        .select_only()
        .columns([
            service::Column::Id,
            service::Column::SourceKey,
            service::Column::SourceFile,
            service::Column::Active,
            service::Column::ContentHash,
            service::Column::CreatedAt,
        ])
        .into_model::<ExistingService>()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.source_key.clone(), m))
        .collect();
    let programme_ids = slug_ids(programme::Entity::find().all(db).await?, |m| (m.slug, m.id));
    // Ids held by other sources' services: a preferred id never takes one of them.
    let taken: HashSet<Uuid> = if items.iter().any(|(r, _)| r.preferred_id.is_some()) {
        service::Entity::find()
            .filter(service::Column::Source.ne(source))
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect()
    } else {
        HashSet::new()
    };
    let category_ids = slug_ids(category::Entity::find().all(db).await?, |m| (m.slug, m.id));

    let mut counts = Counts::default();
    let mut batch = Batch::default();
    let mut replaced = Vec::new();
    let mut listed = HashSet::new();
    for (record, file) in items {
        listed.insert(record.key.clone());
        let Some(&org_id) = organisation_ids.get(&record.organisation_slug) else {
            continue;
        };
        let hash = record.hash(&org_id.to_string());
        let old = existing.get(&record.key);
        if let Some(old) = old
            && old.active
            && old.content_hash == hash
            && old.source_file == *file
        {
            counts.unchanged += 1;
            continue;
        }
        let id = old
            .map(|m| m.id)
            .or(record.preferred_id.filter(|p| !taken.contains(p)))
            .unwrap_or_else(Uuid::now_v7);
        let row = service::Model {
            id,
            organisation_id: org_id,
            source: source.to_string(),
            source_key: record.key.clone(),
            source_file: file.clone(),
            name: record.name.clone(),
            summary: record.summary.clone(),
            description: record.description.clone(),
            min_age: record.min_age,
            max_age: record.max_age,
            free: record.free,
            cost: record.cost.clone(),
            accepts_self_referral: record.accepts_self_referral,
            how_to_access: record.how_to_access.clone(),
            url: record.url.clone(),
            email: record.email.clone(),
            phone: record.phone.clone(),
            languages: serde_json::to_string(&record.languages).unwrap_or_else(|_| "[]".into()),
            accessibility: serde_json::to_string(&record.accessibility)
                .unwrap_or_else(|_| "[]".into()),
            all_boroughs: record.all_boroughs,
            active: true,
            content_hash: hash,
            created_at: old.map_or(now, |m| m.created_at),
            updated_at: now,
        };
        if old.is_some() {
            service::ActiveModel::from(row)
                .reset_all()
                .update(db)
                .await?;
            replaced.push(id);
            counts.updated += 1;
        } else {
            batch.services.push(row.into());
            counts.created += 1;
        }
        batch.add_children(id, record, &programme_ids, &category_ids);
    }
    delete_children(db, &replaced).await?;
    batch.insert(db).await?;

    if retire_missing {
        let retire: Vec<Uuid> = existing
            .values()
            .filter(|m| m.active && !listed.contains(&m.source_key))
            .filter(|m| {
                !m.source_file
                    .as_ref()
                    .is_some_and(|f| protected_files.contains(f))
            })
            .map(|m| m.id)
            .collect();
        for chunk in retire.chunks(CHUNK) {
            service::Entity::update_many()
                .col_expr(service::Column::Active, Expr::value(false))
                .col_expr(service::Column::UpdatedAt, Expr::value(now))
                .filter(service::Column::Id.is_in(chunk.to_vec()))
                .exec(db)
                .await?;
        }
        counts.retired = retire.len();
    }
    Ok(counts)
}

/// Retires a source's active services whose keys are not in `keep`.
pub async fn retire_services_except<C: ConnectionTrait>(
    db: &C,
    source: &str,
    keep: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    // Only ids and keys: a large source's full rows are never all in memory at once.
    let retire: Vec<Uuid> = service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .column(service::Column::SourceKey)
        .filter(service::Column::Source.eq(source))
        .filter(service::Column::Active.eq(true))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .filter(|(_, key)| !keep.contains(key))
        .map(|(id, _)| id)
        .collect();
    for chunk in retire.chunks(CHUNK) {
        service::Entity::update_many()
            .col_expr(service::Column::Active, Expr::value(false))
            .col_expr(service::Column::UpdatedAt, Expr::value(now))
            .filter(service::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(retire.len())
}

fn slug_ids<M>(rows: Vec<M>, f: impl Fn(M) -> (String, Uuid)) -> HashMap<String, Uuid> {
    rows.into_iter().map(f).collect()
}

/// Child rows gathered for multi-row inserts.
#[derive(Default)]
struct Batch {
    services: Vec<service::ActiveModel>,
    boroughs: Vec<service_borough::ActiveModel>,
    programmes: Vec<service_programme::ActiveModel>,
    categories: Vec<service_category::ActiveModel>,
    locations: Vec<location::ActiveModel>,
    hours: Vec<opening_hours::ActiveModel>,
}

impl Batch {
    fn add_children(
        &mut self,
        id: Uuid,
        record: &ServiceRecord,
        programme_ids: &HashMap<String, Uuid>,
        category_ids: &HashMap<String, Uuid>,
    ) {
        for b in &record.borough_ids {
            self.boroughs.push(service_borough::ActiveModel {
                service_id: Set(id),
                borough_id: Set(*b),
            });
        }
        let mut seen = HashSet::new();
        for p in record
            .programmes
            .iter()
            .filter_map(|s| programme_ids.get(s))
        {
            if seen.insert(*p) {
                self.programmes.push(service_programme::ActiveModel {
                    service_id: Set(id),
                    programme_id: Set(*p),
                });
            }
        }
        for c in record.categories.iter().filter_map(|s| category_ids.get(s)) {
            if seen.insert(*c) {
                self.categories.push(service_category::ActiveModel {
                    service_id: Set(id),
                    category_id: Set(*c),
                });
            }
        }
        for (position, loc) in record.locations.iter().enumerate() {
            let location_id = Uuid::now_v7();
            self.locations.push(location::ActiveModel {
                id: Set(location_id),
                service_id: Set(id),
                position: Set(position as i32),
                name: Set(loc.name.clone()),
                address: Set(loc.address.clone()),
                postcode: Set(loc.postcode.clone()),
                borough_id: Set(loc.borough_id),
                lat: Set(loc.lat),
                lon: Set(loc.lon),
            });
            for h in &loc.hours {
                self.hours.push(opening_hours::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    location_id: Set(location_id),
                    day: Set(h.day.clone()),
                    opens: Set(h.opens.clone()),
                    closes: Set(h.closes.clone()),
                });
            }
        }
    }

    async fn insert<C: ConnectionTrait>(self, db: &C) -> Result<(), DbErr> {
        insert_chunks::<service::Entity, _>(db, self.services).await?;
        insert_chunks::<service_borough::Entity, _>(db, self.boroughs).await?;
        insert_chunks::<service_programme::Entity, _>(db, self.programmes).await?;
        insert_chunks::<service_category::Entity, _>(db, self.categories).await?;
        insert_chunks::<location::Entity, _>(db, self.locations).await?;
        insert_chunks::<opening_hours::Entity, _>(db, self.hours).await?;
        Ok(())
    }
}

async fn insert_chunks<E, C>(db: &C, rows: Vec<E::ActiveModel>) -> Result<(), DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        E::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Removes a service's join rows, locations and hours before they are written again.
async fn delete_children<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> Result<(), DbErr> {
    for chunk in ids.chunks(CHUNK) {
        let ids = chunk.to_vec();
        let location_ids: Vec<Uuid> = location::Entity::find()
            .filter(location::Column::ServiceId.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|l| l.id)
            .collect();
        for loc_chunk in location_ids.chunks(CHUNK) {
            opening_hours::Entity::delete_many()
                .filter(opening_hours::Column::LocationId.is_in(loc_chunk.to_vec()))
                .exec(db)
                .await?;
        }
        location::Entity::delete_many()
            .filter(location::Column::ServiceId.is_in(ids.clone()))
            .exec(db)
            .await?;
        service_borough::Entity::delete_many()
            .filter(service_borough::Column::ServiceId.is_in(ids.clone()))
            .exec(db)
            .await?;
        service_programme::Entity::delete_many()
            .filter(service_programme::Column::ServiceId.is_in(ids.clone()))
            .exec(db)
            .await?;
        service_category::Entity::delete_many()
            .filter(service_category::Column::ServiceId.is_in(ids))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Bumps the directory revision so that every instance reloads its copy.
pub async fn bump_revision<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<i64, DbErr> {
    let current = current_revision(db).await?;
    let next = current + 1;
    directory_revision::Entity::insert(directory_revision::ActiveModel {
        id: Set(1),
        revision: Set(next),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(directory_revision::Column::Id)
            .update_columns([
                directory_revision::Column::Revision,
                directory_revision::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(next)
}

pub async fn current_revision<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(directory_revision::Entity::find_by_id(1)
        .one(db)
        .await?
        .map_or(0, |r| r.revision))
}
