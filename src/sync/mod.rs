//! Offline sync for the app: `GET /v1/sync` gives everything, or with `since` only what
//! changed (including deletions and retirements). Each item's hash and the revision it
//! last changed at are recorded whenever content is loaded, so a delta is exact.
use std::collections::{BTreeMap, HashMap};

use axum::{Json, extract::State};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait,
    sea_query::{LockType, OnConflict},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use crate::content::catalogue::{Article, Catalogue, SafePlace};
use crate::content::privacy::PrivacyPage;
use crate::content::privacy_for;
use crate::directory::views::BoroughRefView;
use crate::directory::{Directory, store, views};
use crate::entities::{directory_revision, sync_item};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ValidatedQuery;
use crate::geo::Gazetteer;
use crate::help::HelpLine;
use crate::referrals::model::NeedView;
use crate::referrals::rules::ReferralRules;
use crate::settings::Settings;
use crate::state::AppState;

pub const KINDS: [&str; 11] = [
    "services",
    "articles",
    "help",
    "categories",
    "programmes",
    "safe_places",
    "needs",
    "boroughs",
    "organisations",
    "privacy",
    "postcode_districts",
];
const EPOCH: &str = "_epoch";

/// Everything the app keeps offline comes from these.
pub struct Offline<'a> {
    pub dir: &'a Directory,
    pub cat: &'a Catalogue,
    pub rules: &'a ReferralRules,
    pub gazetteer: &'a Gazetteer,
    /// The privacy promise with its numbers filled in from the settings.
    pub privacy: Option<PrivacyPage>,
}

impl<'a> Offline<'a> {
    pub fn new(
        dir: &'a Directory,
        cat: &'a Catalogue,
        rules: &'a ReferralRules,
        gazetteer: &'a Gazetteer,
        settings: &Settings,
    ) -> Self {
        Self {
            dir,
            cat,
            rules,
            gazetteer,
            privacy: privacy_for(cat, settings),
        }
    }
}

/// The only key of the `privacy` kind: there is one privacy page.
pub const PRIVACY_KEY: &str = "privacy";

/// The privacy page in the offline bundle, with the fixed key `id: "privacy"` so a delta
/// can replace it like any other item.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyItem<'a> {
    /// Always `privacy`.
    pub id: &'a str,
    #[serde(flatten)]
    pub page: &'a PrivacyPage,
}

/// A London postcode district, so "near me" by outward code works offline.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostcodeDistrict {
    /// The outward code, like `E8`.
    pub outcode: String,
    /// The district's centre (mean of its London postcodes).
    pub lat: f64,
    pub lon: f64,
    /// The borough most of it lies in.
    pub borough: BoroughRefView,
}

/// Visits every item the app keeps offline, as it is served, in the order to show it,
/// one at a time. Help lines carry their `position`, so a delta can place them.
pub fn visit_items(src: &Offline<'_>, emit: &mut dyn FnMut(&'static str, String, Value)) {
    let (dir, cat) = (src.dir, src.cat);
    let json = |v: &dyn erased::Ser| v.to_value();
    for (key, value) in (0..dir.services.len())
        .map(|i| (dir.services[i].id.to_string(), json(&views::detail(dir, i))))
    {
        emit("services", key, value);
    }
    for (key, value) in cat.articles.iter().map(|a| (a.slug.clone(), json(a))) {
        emit("articles", key, value);
    }
    for (key, value) in cat.help.iter().enumerate().map(|(i, h)| {
        let mut v = json(h);
        if let Value::Object(map) = &mut v {
            map.insert("position".into(), Value::from(i));
        }
        (h.id.clone(), v)
    }) {
        emit("help", key, value);
    }
    for (key, value) in dir.categories.iter().map(|c| {
        let view = views::CategoryView {
            slug: c.slug.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            parent: c.parent.clone(),
        };
        (c.slug.clone(), json(&view))
    }) {
        emit("categories", key, value);
    }
    for (key, value) in dir.programmes.iter().map(|p| {
        let view = views::ProgrammeView {
            slug: p.slug.clone(),
            name: p.name.clone(),
            summary: p.summary.clone(),
            description: p.description.clone(),
            url: p.url.clone(),
            active: p.active,
            successor: p.successor.clone(),
        };
        (p.slug.clone(), json(&view))
    }) {
        emit("programmes", key, value);
    }
    for (key, value) in cat.safe_places.iter().map(|p| (p.id.clone(), json(p))) {
        emit("safe_places", key, value);
    }
    // Needs carry their `position`, like help lines: the app lists them in this order.
    for (i, n) in src.rules.needs.iter().enumerate() {
        let mut v = json(&NeedView {
            slug: n.slug.clone(),
            name: n.name.clone(),
            description: n.description.clone(),
        });
        if let Value::Object(map) = &mut v {
            map.insert("position".into(), Value::from(i));
        }
        emit("needs", n.slug.clone(), v);
    }
    for b in &dir.boroughs {
        let view = views::BoroughView {
            slug: b.slug.clone(),
            gss_code: b.gss_code.clone(),
            name: b.name.clone(),
            lat: b.lat,
            lon: b.lon,
        };
        emit("boroughs", b.slug.clone(), json(&view));
    }
    for o in &dir.organisations {
        emit(
            "organisations",
            o.id.to_string(),
            json(&views::organisation_view(o)),
        );
    }
    if let Some(p) = &src.privacy {
        let item = PrivacyItem {
            id: PRIVACY_KEY,
            page: p,
        };
        emit("privacy", PRIVACY_KEY.to_string(), json(&item));
    }
    for place in src.gazetteer.london_districts() {
        let view = PostcodeDistrict {
            outcode: place.outcode.clone(),
            lat: place.lat,
            lon: place.lon,
            borough: BoroughRefView {
                slug: place.borough.slug.clone(),
                gss_code: place.borough.gss_code.clone(),
                name: place.borough.name.clone(),
            },
        };
        emit("postcode_districts", place.outcode, json(&view));
    }
}

/// Every item, collected: kind → [(key, JSON)].
pub fn current_items(src: &Offline<'_>) -> BTreeMap<&'static str, Vec<(String, Value)>> {
    let mut out: BTreeMap<&'static str, Vec<(String, Value)>> = BTreeMap::new();
    visit_items(src, &mut |kind, key, value| {
        out.entry(kind).or_default().push((key, value))
    });
    out
}

/// `serde_json::to_value` behind a trait object, so one closure serves every view type.
mod erased {
    pub trait Ser {
        fn to_value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

fn hash(v: &Value) -> String {
    blake3::hash(&serde_json::to_vec(v).unwrap_or_default()).to_hex()[..32].to_string()
}

/// Records what changed since the last load. Returns the new revision if anything did.
pub async fn record(
    db: &DatabaseConnection,
    src: &Offline<'_>,
) -> Result<Option<i64>, sea_orm::DbErr> {
    // Hash each item as it is built, so only the hashes are held at once.
    let mut items: Vec<(&'static str, String, String)> = Vec::new();
    visit_items(src, &mut |kind, key, value| {
        items.push((kind, key, hash(&value)))
    });
    let txn = db.begin().await?;
    // One recorder at a time across instances: lock the revision row where we can.
    let mut lock = directory_revision::Entity::find_by_id(1);
    if db.get_database_backend() == DbBackend::Postgres {
        lock = lock.lock(LockType::Update);
    }
    let _ = lock.one(&txn).await?;
    let current = store::current_revision(&txn).await?;
    let next = current + 1;
    let existing: HashMap<(String, String), sync_item::Model> = sync_item::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| ((m.kind.clone(), m.key.clone()), m))
        .collect();
    let mut writes: Vec<sync_item::ActiveModel> = Vec::new();
    if !existing.contains_key(&(EPOCH.to_string(), EPOCH.to_string())) {
        writes.push(sync_item::ActiveModel {
            kind: Set(EPOCH.into()),
            key: Set(EPOCH.into()),
            hash: Set(uuid::Uuid::new_v4().simple().to_string()),
            revision: Set(0),
            deleted: Set(false),
        });
    }
    let present: std::collections::HashSet<(&str, &str)> = items
        .iter()
        .map(|(kind, key, _)| (*kind, key.as_str()))
        .collect();
    let mut changed = 0;
    for (kind, key, h) in &items {
        let same = existing
            .get(&(kind.to_string(), key.clone()))
            .is_some_and(|m| !m.deleted && m.hash == *h);
        if !same {
            changed += 1;
            writes.push(sync_item::ActiveModel {
                kind: Set(kind.to_string()),
                key: Set(key.clone()),
                hash: Set(h.clone()),
                revision: Set(next),
                deleted: Set(false),
            });
        }
    }
    for ((kind, key), m) in &existing {
        let gone = kind != EPOCH && !m.deleted && !present.contains(&(kind.as_str(), key.as_str()));
        if gone {
            changed += 1;
            writes.push(sync_item::ActiveModel {
                kind: Set(kind.clone()),
                key: Set(key.clone()),
                hash: Set(m.hash.clone()),
                revision: Set(next),
                deleted: Set(true),
            });
        }
    }
    for chunk in writes.chunks(400) {
        sync_item::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([sync_item::Column::Kind, sync_item::Column::Key])
                    .update_columns([
                        sync_item::Column::Hash,
                        sync_item::Column::Revision,
                        sync_item::Column::Deleted,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let revision = if changed > 0 {
        Some(store::bump_revision(&txn, chrono::Utc::now()).await?)
    } else {
        None
    };
    txn.commit().await?;
    Ok(revision)
}

/// `record` for what a running instance serves now.
pub async fn record_current(state: &AppState) -> Result<Option<i64>, sea_orm::DbErr> {
    let dir = state.directory.load();
    let cat = state.catalogue.load();
    let offline = Offline::new(
        &dir,
        &cat,
        &state.referral_rules,
        &state.gazetteer,
        &state.settings,
    );
    record(&state.db, &offline).await
}

/// The cursor: this database's epoch and a revision, with a check so a corrupt one is
/// told apart from a valid one.
fn encode_cursor(epoch: &str, revision: i64) -> String {
    let body = format!("{epoch}:{revision}");
    let check = &blake3::hash(body.as_bytes()).to_hex()[..8];
    URL_SAFE_NO_PAD.encode(format!("{body}:{check}"))
}

fn decode_cursor(cursor: &str) -> Option<(String, i64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?).ok()?;
    let mut parts = raw.split(':');
    let (epoch, rev, check) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let body = format!("{epoch}:{rev}");
    (blake3::hash(body.as_bytes()).to_hex()[..8] == *check)
        .then(|| Some((epoch.to_string(), rev.parse().ok()?)))?
}

async fn epoch<C: ConnectionTrait>(db: &C) -> Result<String, sea_orm::DbErr> {
    Ok(sync_item::Entity::find()
        .filter(sync_item::Column::Kind.eq(EPOCH))
        .one(db)
        .await?
        .map(|m| m.hash)
        .unwrap_or_default())
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The `cursor` from a previous answer; without it, everything.
    #[validate(length(max = 200))]
    pub since: Option<String>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Deleted {
    pub services: Vec<String>,
    pub articles: Vec<String>,
    pub help: Vec<String>,
    pub categories: Vec<String>,
    pub programmes: Vec<String>,
    pub safe_places: Vec<String>,
    pub needs: Vec<String>,
    pub boroughs: Vec<String>,
    /// Organisation ids.
    pub organisations: Vec<String>,
    /// `["privacy"]` if the privacy page was removed.
    pub privacy: Vec<String>,
    pub postcode_districts: Vec<String>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SyncBundle {
    /// Send this as `since` next time.
    pub cursor: String,
    /// True when this is everything (no `since`), false for a delta.
    pub full: bool,
    /// Services in full, as `GET /v1/services/{id}` answers them.
    #[schema(value_type = Vec<views::ServiceDetail>)]
    pub services: Vec<Value>,
    #[schema(value_type = Vec<Article>)]
    pub articles: Vec<Value>,
    /// Help lines, each with its `position` in the order to show them.
    #[schema(value_type = Vec<PositionedHelpLine>)]
    pub help: Vec<Value>,
    #[schema(value_type = Vec<views::CategoryView>)]
    pub categories: Vec<Value>,
    #[schema(value_type = Vec<views::ProgrammeView>)]
    pub programmes: Vec<Value>,
    #[schema(value_type = Vec<SafePlace>)]
    pub safe_places: Vec<Value>,
    /// What a referral can ask for, each with its `position`.
    #[schema(value_type = Vec<PositionedNeed>)]
    pub needs: Vec<Value>,
    #[schema(value_type = Vec<views::BoroughView>)]
    pub boroughs: Vec<Value>,
    #[schema(value_type = Vec<views::OrganisationView>)]
    pub organisations: Vec<Value>,
    /// The privacy promise: one item, or none in a delta where it did not change.
    #[schema(value_type = Vec<PrivacyItem>)]
    pub privacy: Vec<Value>,
    /// London postcode districts, so a place typed as an outward code works offline.
    #[schema(value_type = Vec<PostcodeDistrict>)]
    pub postcode_districts: Vec<Value>,
    pub deleted: Deleted,
}

/// A help line in the offline bundle: the line and where it goes in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionedHelpLine {
    #[serde(flatten)]
    pub line: HelpLine,
    pub position: usize,
}

/// A need in the offline bundle: the need and where it goes in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionedNeed {
    #[serde(flatten)]
    pub need: NeedView,
    pub position: usize,
}

impl SyncBundle {
    fn list(&mut self, kind: &str) -> Option<&mut Vec<Value>> {
        Some(match kind {
            "services" => &mut self.services,
            "articles" => &mut self.articles,
            "help" => &mut self.help,
            "categories" => &mut self.categories,
            "programmes" => &mut self.programmes,
            "safe_places" => &mut self.safe_places,
            "needs" => &mut self.needs,
            "boroughs" => &mut self.boroughs,
            "organisations" => &mut self.organisations,
            "privacy" => &mut self.privacy,
            "postcode_districts" => &mut self.postcode_districts,
            _ => return None,
        })
    }

    fn deleted(&mut self, kind: &str) -> Option<&mut Vec<String>> {
        let d = &mut self.deleted;
        Some(match kind {
            "services" => &mut d.services,
            "articles" => &mut d.articles,
            "help" => &mut d.help,
            "categories" => &mut d.categories,
            "programmes" => &mut d.programmes,
            "safe_places" => &mut d.safe_places,
            "needs" => &mut d.needs,
            "boroughs" => &mut d.boroughs,
            "organisations" => &mut d.organisations,
            "privacy" => &mut d.privacy,
            "postcode_districts" => &mut d.postcode_districts,
            _ => return None,
        })
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_sync))
}

/// The offline bundle: everything, or what changed since a cursor.
#[utoipa::path(get, path = "/v1/sync", tag = "content",
    params(SyncQuery),
    responses(
        (status = 200, body = SyncBundle),
        (status = 422, description = "An unknown or corrupt cursor", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_sync(
    State(state): State<AppState>,
    ValidatedQuery(q): ValidatedQuery<SyncQuery>,
) -> ApiResult<Json<SyncBundle>> {
    let dir = state.directory.load();
    let cat = state.catalogue.load();
    let offline = Offline::new(
        &dir,
        &cat,
        &state.referral_rules,
        &state.gazetteer,
        &state.settings,
    );
    let epoch = match state.sync_epoch.get() {
        Some(e) => e.clone(),
        None => {
            let e = epoch(&state.db).await?;
            if !e.is_empty() {
                let _ = state.sync_epoch.set(e.clone());
            }
            e
        }
    };
    let revision = dir.revision;
    let mut bundle = SyncBundle {
        cursor: encode_cursor(&epoch, revision),
        ..SyncBundle::default()
    };
    let Some(since) = q.since.filter(|s| !s.trim().is_empty()) else {
        bundle.full = true;
        for (kind, entries) in current_items(&offline) {
            if let Some(list) = bundle.list(kind) {
                list.extend(entries.into_iter().map(|(_, v)| v));
            }
        }
        return Ok(Json(bundle));
    };
    // Never a silent full resync that the app would mistake for a delta.
    let unknown = || {
        ApiError::field(
            "since",
            "is not a cursor from this service; sync again without since",
        )
    };
    let (cursor_epoch, from) = decode_cursor(&since).ok_or_else(unknown)?;
    if cursor_epoch != epoch || from > revision || from < 0 {
        return Err(unknown());
    }
    // Already up to date: the commonest question from an app, answered without work.
    if from == revision {
        return Ok(Json(bundle));
    }
    let items = current_items(&offline);
    let changed = sync_item::Entity::find()
        .filter(sync_item::Column::Revision.gt(from))
        .filter(sync_item::Column::Revision.lte(revision))
        .filter(sync_item::Column::Kind.ne(EPOCH))
        .all(&state.db)
        .await?;
    let by_key: HashMap<(&str, &str), &Value> = items
        .iter()
        .flat_map(|(kind, list)| list.iter().map(move |(key, v)| ((*kind, key.as_str()), v)))
        .collect();
    for row in changed {
        if row.deleted {
            if let Some(d) = bundle.deleted(&row.kind) {
                d.push(row.key);
            }
        } else if let Some(v) = by_key.get(&(row.kind.as_str(), row.key.as_str()))
            && let Some(list) = bundle.list(&row.kind)
        {
            list.push((*v).clone());
        }
    }
    Ok(Json(bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_detect_corruption() {
        let c = encode_cursor("abc", 42);
        assert_eq!(decode_cursor(&c), Some(("abc".into(), 42)));
        let mut bad = c.clone().into_bytes();
        bad[3] = if bad[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(decode_cursor(&String::from_utf8(bad).unwrap()), None);
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(""), None);
    }
}
