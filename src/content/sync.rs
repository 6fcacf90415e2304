//! Loads `content/` into the database: idempotent, file by file. A broken file is
//! reported (file, line, field) and nothing from it is loaded; what it had loaded before
//! stays as it was.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};

use super::files::{ContentError, ContentFiles, Parsed};
use super::records::{
    Known, OrganisationRecord, ServiceRecord, check_category_tree, validate_organisation,
};
use crate::directory::store::{self, Counts};
use crate::entities::{category, programme};
use crate::geo::Gazetteer;

pub const SOURCE: &str = "content";

#[derive(Debug, Default)]
pub struct SyncReport {
    pub services: Counts,
    pub errors: Vec<ContentError>,
    pub changed: bool,
    pub revision: i64,
}

pub async fn sync(
    db: &DatabaseConnection,
    gazetteer: &Gazetteer,
    dir: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<SyncReport> {
    let files = ContentFiles::read(dir);
    let mut report = SyncReport::default();
    let txn = db.begin().await?;
    store::upsert_boroughs(&txn, gazetteer).await?;

    match files.programmes {
        Some(Ok(parsed)) => match check_programmes(&parsed) {
            Ok(()) => report.changed |= store::sync_programmes(&txn, &parsed.value, now).await?,
            Err(e) => report.errors.push(e),
        },
        Some(Err(e)) => report.errors.push(e),
        None => {}
    }
    match files.categories {
        Some(Ok(parsed)) => match check_categories(&parsed) {
            Ok(()) => report.changed |= store::sync_categories(&txn, &parsed.value, now).await?,
            Err(e) => report.errors.push(e),
        },
        Some(Err(e)) => report.errors.push(e),
        None => {}
    }

    let programmes: HashSet<String> = programme::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    let categories: HashSet<String> = category::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .map(|c| c.slug)
        .collect();
    let known = Known {
        programmes: &programmes,
        categories: &categories,
        gazetteer,
    };

    let mut broken_files = HashSet::new();
    let mut orgs: Vec<(OrganisationRecord, Option<String>)> = Vec::new();
    let mut services: Vec<(ServiceRecord, Option<String>)> = Vec::new();
    let mut service_owner: HashMap<String, String> = HashMap::new();
    for parsed in files.organisations {
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                broken_files.insert(e.file.clone());
                report.errors.push(e);
                continue;
            }
        };
        let (org, list) = match validate_organisation(&parsed, &known) {
            Ok(ok) => ok,
            Err(errors) => {
                broken_files.insert(parsed.file.clone());
                report.errors.extend(errors);
                continue;
            }
        };
        // A service slug is unique across every file.
        let dupes: Vec<ContentError> = list
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                service_owner.get(&s.key).map(|other| {
                    parsed.error_at(
                        Some(("services", i)),
                        "slug",
                        format!("{} is already used in {other}", s.key),
                    )
                })
            })
            .collect();
        if !dupes.is_empty() {
            broken_files.insert(parsed.file.clone());
            report.errors.extend(dupes);
            continue;
        }
        for s in &list {
            service_owner.insert(s.key.clone(), parsed.file.clone());
        }
        let file = Some(parsed.file.clone());
        orgs.push((org, file.clone()));
        services.extend(list.into_iter().map(|s| (s, file.clone())));
    }

    let (org_ids, orgs_changed) = store::upsert_organisations(&txn, SOURCE, &orgs, now).await?;
    let listed: HashSet<String> = orgs.iter().map(|(o, _)| o.slug.clone()).collect();
    let retired_orgs =
        store::retire_organisations(&txn, SOURCE, &listed, &broken_files, now).await?;
    report.services =
        store::apply_services(&txn, SOURCE, &services, &org_ids, &broken_files, true, now).await?;
    report.changed |= orgs_changed || retired_orgs || report.services.changed();
    report.revision = if report.changed {
        store::bump_revision(&txn, now).await?
    } else {
        store::current_revision(&txn).await?
    };
    txn.commit().await?;
    Ok(report)
}

fn check_programmes(parsed: &Parsed<Vec<super::files::ProgrammeFile>>) -> Result<(), ContentError> {
    let slugs: HashSet<&str> = parsed.value.iter().map(|p| p.slug.as_str()).collect();
    let mut seen = HashSet::new();
    for (i, p) in parsed.value.iter().enumerate() {
        let at = Some(("programme", i));
        if !seen.insert(p.slug.as_str()) {
            return Err(parsed.error_at(at, "slug", format!("{} is listed twice", p.slug)));
        }
        if p.name.trim().is_empty() {
            return Err(parsed.error_at(at, "name", "must not be empty"));
        }
        if let Some(s) = &p.successor
            && !slugs.contains(s.as_str())
        {
            return Err(parsed.error_at(at, "successor", format!("unknown programme {s:?}")));
        }
    }
    Ok(())
}

fn check_categories(parsed: &Parsed<Vec<super::files::CategoryFile>>) -> Result<(), ContentError> {
    let mut parents = HashMap::new();
    for (i, c) in parsed.value.iter().enumerate() {
        if parents.insert(c.slug.clone(), c.parent.clone()).is_some() {
            return Err(parsed.error_at(
                Some(("category", i)),
                "slug",
                format!("{} is listed twice", c.slug),
            ));
        }
    }
    check_category_tree(&parents).map_err(|(slug, message)| {
        let index = parsed
            .value
            .iter()
            .position(|c| c.slug == slug)
            .unwrap_or(0);
        parsed.error_at(Some(("category", index)), "parent", message)
    })
}
