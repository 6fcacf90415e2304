//! The inbox: every query is scoped to the signed-in worker's organisation, so another
//! organisation's referral is simply not found.
use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use super::model::{EventView, InboxItem, InboxMessage, InboxReferral, NeedRef, WorkerRef};
use super::unread;
use crate::entities::{referral, referral_event, referral_message, worker};
use crate::error::{ApiError, ApiResult};
use crate::referrals::model::Contact;
use crate::referrals::service::{
    self, SENDER_NOTE, SENDER_SIGNPOST, SENDER_WORKER, SENDER_YOUNG_PERSON,
};
use crate::state::AppState;

pub const STATUSES: [&str; 6] = [
    "received",
    "assigned",
    "claimed",
    "in_progress",
    "closed",
    "withdrawn",
];

const NOT_FOUND: &str = "no referral in your inbox has this id";

/// One referral of the organisation's, or 404.
pub async fn find(
    db: &DatabaseConnection,
    organisation: Uuid,
    id: Uuid,
) -> ApiResult<referral::Model> {
    referral::Entity::find_by_id(id)
        .filter(referral::Column::OrganisationId.eq(organisation))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))
}

async fn worker_names(db: &DatabaseConnection, ids: Vec<Uuid>) -> ApiResult<HashMap<Uuid, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(worker::Entity::find()
        .filter(worker::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w.name))
        .collect())
}

pub fn item(state: &AppState, r: &referral::Model, names: &HashMap<Uuid, String>) -> InboxItem {
    let dir = state.directory.load();
    InboxItem {
        id: r.id,
        reference: r.reference.clone(),
        status: r.status.clone(),
        urgency: r.urgency.clone(),
        needs: serde_json::from_str(&r.needs).unwrap_or_default(),
        borough: r
            .borough_id
            .and_then(|b| dir.borough_index_by_id(b))
            .map(|i| dir.boroughs[i].slug.clone()),
        claimed_by: r.claimed_by.map(|id| WorkerRef {
            id,
            name: names.get(&id).cloned().unwrap_or_default(),
        }),
        created_at: r.created_at,
        updated_at: r.updated_at,
        unread: false,
    }
}

/// One referral of the organisation's as an inbox line, with its unread mark for `viewer`.
pub async fn summary(
    state: &AppState,
    organisation: Uuid,
    viewer: Uuid,
    id: Uuid,
) -> ApiResult<InboxItem> {
    let r = find(&state.db, organisation, id).await?;
    let names = worker_names(&state.db, r.claimed_by.into_iter().collect()).await?;
    let mut i = item(state, &r, &names);
    i.unread = unread::is_unread(&state.db, viewer, id).await?;
    Ok(i)
}

/// A page of the organisation's referrals as `viewer` sees them: urgent first, then oldest
/// first.
pub async fn list(
    state: &AppState,
    organisation: Uuid,
    viewer: Uuid,
    filter: &Filter<'_>,
    page: u32,
    per_page: u32,
) -> ApiResult<(Vec<InboxItem>, u64)> {
    let (rows, total) = list_rows(state, organisation, viewer, filter, page, per_page).await?;
    Ok((rows.into_iter().map(|(_, item)| item).collect(), total))
}

/// Which of the organisation's referrals to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub status: Option<&'a str>,
    pub urgency: Option<&'a str>,
    /// Only those this worker has claimed.
    pub claimed_by: Option<Uuid>,
    /// Only those nobody has claimed.
    pub unclaimed: bool,
    /// Only those asking for this need (a slug checked by [`need_slug`]).
    pub need: Option<&'a str>,
    /// Only those waiting for us: open, and the young person had the last word.
    pub waiting: bool,
    /// Only the one with this reference (as [`normalise_reference`] gives it).
    pub reference: Option<&'a str>,
}

impl Filter<'_> {
    /// Whether anything narrows the list.
    pub fn narrows(&self) -> bool {
        self.status.is_some()
            || self.urgency.is_some()
            || self.claimed_by.is_some()
            || self.unclaimed
            || self.need.is_some()
            || self.waiting
            || self.reference.is_some()
    }
}

/// The needs a referral can ask for, as (slug, plain name), in the order the young person
/// sees them: the inbox's need filter offers these.
pub fn need_options(state: &AppState) -> Vec<(String, String)> {
    state
        .referral_rules
        .needs
        .iter()
        .map(|n| (n.slug.clone(), n.name.clone()))
        .collect()
}

/// The need slug asked for, if it is one of the needs (trimmed); None otherwise.
pub fn need_slug<'a>(state: &'a AppState, raw: &str) -> Option<&'a str> {
    let raw = raw.trim();
    state
        .referral_rules
        .needs
        .iter()
        .find(|n| n.slug == raw)
        .map(|n| n.slug.as_str())
}

/// A reference as typed (any case, spaces around it) in the form referrals carry it;
/// None when nothing was typed.
pub fn normalise_reference(raw: &str) -> Option<String> {
    let r = raw.trim();
    (!r.is_empty()).then(|| r.to_uppercase())
}

/// The organisation's referral with this reference (trimmed, any case). Another
/// organisation's reference is the same None as an unknown one.
pub async fn find_by_reference(
    state: &AppState,
    organisation: Uuid,
    raw: &str,
) -> ApiResult<Option<Uuid>> {
    let Some(reference) = normalise_reference(raw) else {
        return Ok(None);
    };
    Ok(referral::Entity::find()
        .filter(referral::Column::OrganisationId.eq(organisation))
        .filter(referral::Column::Reference.eq(reference))
        .one(&state.db)
        .await?
        .map(|r| r.id))
}

/// A page of the organisation's referrals (urgent first, then oldest first), each with
/// its row, for views that need more than the inbox line (the console's clocks); the
/// unread marks are `viewer`'s.
pub async fn list_rows(
    state: &AppState,
    organisation: Uuid,
    viewer: Uuid,
    filter: &Filter<'_>,
    page: u32,
    per_page: u32,
) -> ApiResult<(Vec<(referral::Model, InboxItem)>, u64)> {
    let mut q = referral::Entity::find().filter(referral::Column::OrganisationId.eq(organisation));
    if let Some(s) = filter.status {
        q = q.filter(referral::Column::Status.eq(s));
    }
    if let Some(u) = filter.urgency {
        q = q.filter(referral::Column::Urgency.eq(u));
    }
    if let Some(w) = filter.claimed_by {
        q = q.filter(referral::Column::ClaimedBy.eq(w));
    }
    if filter.unclaimed {
        q = q.filter(referral::Column::ClaimedBy.is_null());
    }
    if let Some(need) = filter.need {
        // `needs` is a JSON array of slugs; a slug is letters and dashes, so quoted it
        // matches only itself.
        q = q.filter(referral::Column::Needs.like(format!("%\"{need}\"%")));
    }
    if filter.waiting {
        q = q.filter(unread::waiting_for_us());
    }
    if let Some(reference) = filter.reference {
        q = q.filter(referral::Column::Reference.eq(reference));
    }
    let total = q.clone().count(&state.db).await?;
    // 'urgent' sorts after 'routine' alphabetically: descending puts it first.
    let rows = q
        .order_by_desc(referral::Column::Urgency)
        .order_by_asc(referral::Column::CreatedAt)
        .order_by_asc(referral::Column::Id)
        .offset(u64::from(page.max(1) - 1) * u64::from(per_page))
        .limit(u64::from(per_page))
        .all(&state.db)
        .await?;
    let names = worker_names(
        &state.db,
        rows.iter().filter_map(|r| r.claimed_by).collect(),
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let unread = unread::unread_among(&state.db, viewer, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut i = item(state, &r, &names);
            i.unread = unread.contains(&r.id);
            (r, i)
        })
        .collect::<Vec<_>>())
    .map(|rows| (rows, total))
}

/// Open urgent referrals of the organisation's that nobody has claimed.
pub async fn unclaimed_urgent(state: &AppState, organisation: Uuid) -> ApiResult<u64> {
    Ok(referral::Entity::find()
        .filter(referral::Column::OrganisationId.eq(organisation))
        .filter(referral::Column::Urgency.eq(service::URGENT))
        .filter(referral::Column::ClaimedBy.is_null())
        .filter(referral::Column::Status.is_not_in(["closed", "withdrawn"]))
        .count(&state.db)
        .await?)
}

/// The young person's age, if they gave it.
pub fn age_of(state: &AppState, r: &referral::Model) -> ApiResult<Option<u8>> {
    Ok(open_sealed(state, r, r.age_sealed.as_deref())?.and_then(|a| a.parse().ok()))
}

/// The status and outcome a change asks for: closing needs an outcome, and only closing
/// takes one.
pub fn status_and_outcome(
    status: super::model::NewStatus,
    outcome: Option<super::model::Outcome>,
) -> ApiResult<(&'static str, Option<&'static str>)> {
    use super::model::NewStatus;
    match (status, outcome) {
        (NewStatus::Closed, None) => Err(ApiError::field(
            "outcome",
            "is required to close a referral",
        )),
        (NewStatus::Closed, Some(o)) => Ok(("closed", Some(o.as_str()))),
        (NewStatus::InProgress, Some(_)) => {
            Err(ApiError::field("outcome", "is only given when closing"))
        }
        (NewStatus::InProgress, None) => Ok(("in_progress", None)),
    }
}

fn open_sealed(
    state: &AppState,
    r: &referral::Model,
    sealed: Option<&str>,
) -> ApiResult<Option<String>> {
    sealed
        .map(|s| {
            state
                .keys
                .open(s, r.id.as_bytes())
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("referral {}: {e}", r.id)))
        })
        .transpose()
}

/// One referral in full; opening it is recorded once a visit ([`unread::worth_recording`]).
pub async fn detail(
    state: &AppState,
    organisation: Uuid,
    viewer: Uuid,
    id: Uuid,
) -> ApiResult<InboxReferral> {
    let r = find(&state.db, organisation, id).await?;
    detail_of(state, &r, viewer).await
}

/// [`detail`] of a referral already found with [`find`] (so within the viewer's
/// organisation): for pages that need the row as well.
pub async fn detail_of(
    state: &AppState,
    r: &referral::Model,
    viewer: Uuid,
) -> ApiResult<InboxReferral> {
    let organisation = r.organisation_id;
    let now = state.clock.now();
    if unread::worth_recording(&state.db, viewer, r.id, now).await? {
        // One commit for both: on SQLite every commit waits for the disk.
        let txn = state.db.begin().await?;
        service::event(
            &txn,
            r.id,
            "viewed",
            Some(viewer),
            Some(organisation),
            None,
            now,
        )
        .await?;
        unread::viewed(&txn, viewer, r.id, now).await?;
        txn.commit().await?;
    }

    let messages = referral_message::Entity::find()
        .filter(referral_message::Column::ReferralId.eq(r.id))
        .order_by_asc(referral_message::Column::SentAt)
        .order_by_asc(referral_message::Column::Id)
        .all(&state.db)
        .await?;
    let events = referral_event::Entity::find()
        .filter(referral_event::Column::ReferralId.eq(r.id))
        .order_by_asc(referral_event::Column::At)
        .order_by_asc(referral_event::Column::Id)
        .all(&state.db)
        .await?;
    let mut ids: Vec<Uuid> = messages.iter().filter_map(|m| m.worker_id).collect();
    ids.extend(events.iter().filter_map(|e| e.worker_id));
    ids.extend(r.claimed_by);
    let names = worker_names(&state.db, ids).await?;
    let wref = |id: Option<Uuid>| {
        id.map(|id| WorkerRef {
            id,
            name: names.get(&id).cloned().unwrap_or_default(),
        })
    };
    let thread = messages
        .iter()
        .map(|m| {
            Ok(InboxMessage {
                id: m.id,
                from: match m.sender.as_str() {
                    SENDER_YOUNG_PERSON => "young_person",
                    SENDER_NOTE => "note",
                    SENDER_SIGNPOST => "signpost",
                    _ => "youth_worker",
                }
                .into(),
                worker: wref(m.worker_id),
                body: open_sealed(state, r, Some(&m.body_sealed))?.unwrap_or_default(),
                sent_at: m.sent_at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let needs: Vec<String> = serde_json::from_str(&r.needs).unwrap_or_default();
    let names_of_needs = state.referral_rules.need_names();
    let contact: Option<Contact> = open_sealed(state, r, r.contact_sealed.as_deref())?
        .and_then(|json| serde_json::from_str(&json).ok());
    Ok(InboxReferral {
        item: item(state, r, &names),
        needs_named: needs
            .iter()
            .map(|n| NeedRef {
                slug: n.clone(),
                name: names_of_needs
                    .get(n.as_str())
                    .copied()
                    .unwrap_or(n)
                    .to_string(),
            })
            .collect(),
        message: open_sealed(state, r, r.message_sealed.as_deref())?,
        age: open_sealed(state, r, r.age_sealed.as_deref())?.and_then(|a| a.parse().ok()),
        where_: open_sealed(state, r, r.where_sealed.as_deref())?,
        in_danger_now: r.in_danger_now,
        contact,
        outcome: r.outcome.clone(),
        thread,
        events: events
            .iter()
            .map(|e| EventView {
                kind: e.kind.clone(),
                worker: wref(e.worker_id),
                detail: e.detail.clone(),
                at: e.at,
            })
            .collect(),
    })
}

/// Takes a referral. Exactly one of two simultaneous claims wins: the update only
/// applies while nobody holds it.
pub async fn claim(
    state: &AppState,
    organisation: Uuid,
    worker_id: Uuid,
    id: Uuid,
) -> ApiResult<referral::Model> {
    let r = find(&state.db, organisation, id).await?;
    if !service::is_open(&r.status) {
        return Err(ApiError::Conflict("this referral is closed".into()));
    }
    if r.claimed_by == Some(worker_id) {
        return Ok(r);
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let updated = referral::Entity::update_many()
        .col_expr(referral::Column::ClaimedBy, Expr::value(worker_id))
        .col_expr(referral::Column::Status, Expr::value("claimed"))
        .col_expr(referral::Column::UpdatedAt, Expr::value(now))
        .filter(referral::Column::Id.eq(id))
        .filter(referral::Column::OrganisationId.eq(organisation))
        .filter(referral::Column::ClaimedBy.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ApiError::Conflict(
            "another youth worker has already taken this referral".into(),
        ));
    }
    service::event(
        &txn,
        id,
        "claimed",
        Some(worker_id),
        Some(organisation),
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    find(&state.db, organisation, id).await
}

/// A youth worker writes to the young person.
pub async fn write(
    state: &AppState,
    organisation: Uuid,
    worker_id: Uuid,
    id: Uuid,
    body: &str,
) -> ApiResult<referral_message::Model> {
    let r = find(&state.db, organisation, id).await?;
    if !service::is_open(&r.status) {
        return Err(ApiError::Conflict("this referral is closed".into()));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let m = service::add_message(
        &txn,
        &state.keys,
        &r,
        SENDER_WORKER,
        Some(worker_id),
        body,
        now,
    )
    .await?;
    service::event(
        &txn,
        id,
        "worker_message",
        Some(worker_id),
        Some(organisation),
        None,
        now,
    )
    .await?;
    unread::written(&txn, id, SENDER_WORKER, now).await?;
    referral::Entity::update_many()
        .col_expr(referral::Column::UpdatedAt, Expr::value(now))
        .filter(referral::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(m)
}

/// Gives a claimed referral back to the team: the worker who holds it, or a coordinator
/// or admin, may release it. It goes back to `assigned` with nobody holding it.
pub async fn release(
    state: &AppState,
    organisation: Uuid,
    worker_id: Uuid,
    can_release_others: bool,
    id: Uuid,
) -> ApiResult<referral::Model> {
    let r = find(&state.db, organisation, id).await?;
    if !service::is_open(&r.status) {
        return Err(ApiError::Conflict("this referral is closed".into()));
    }
    let Some(holder) = r.claimed_by else {
        return Err(ApiError::Conflict("nobody has taken this referral".into()));
    };
    if holder != worker_id && !can_release_others {
        return Err(ApiError::Forbidden(
            "only the youth worker who took this referral, or a coordinator, can release it".into(),
        ));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let updated = referral::Entity::update_many()
        .col_expr(
            referral::Column::ClaimedBy,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(referral::Column::Status, Expr::value("assigned"))
        .col_expr(referral::Column::UpdatedAt, Expr::value(now))
        .filter(referral::Column::Id.eq(id))
        .filter(referral::Column::OrganisationId.eq(organisation))
        .filter(referral::Column::ClaimedBy.eq(holder))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ApiError::Conflict(
            "this referral changed hands while you were looking".into(),
        ));
    }
    service::event(
        &txn,
        id,
        "released",
        Some(worker_id),
        Some(organisation),
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    find(&state.db, organisation, id).await
}

/// A private note on a referral: kept in the thread for the team, never sent to the young
/// person.
pub async fn note(
    state: &AppState,
    organisation: Uuid,
    worker_id: Uuid,
    id: Uuid,
    body: &str,
) -> ApiResult<referral_message::Model> {
    let r = find(&state.db, organisation, id).await?;
    let body = body.trim();
    if body.is_empty() {
        return Err(ApiError::field("body", "must not be empty"));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let m = service::add_message(
        &txn,
        &state.keys,
        &r,
        SENDER_NOTE,
        Some(worker_id),
        body,
        now,
    )
    .await?;
    service::event(
        &txn,
        id,
        "note",
        Some(worker_id),
        Some(organisation),
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

pub async fn change_status(
    state: &AppState,
    organisation: Uuid,
    worker_id: Uuid,
    id: Uuid,
    status: &str,
    outcome: Option<&str>,
    note: Option<&str>,
) -> ApiResult<referral::Model> {
    let r = find(&state.db, organisation, id).await?;
    if !service::is_open(&r.status) {
        return Err(ApiError::Conflict("this referral is already closed".into()));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    if let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) {
        service::add_message(
            &txn,
            &state.keys,
            &r,
            SENDER_NOTE,
            Some(worker_id),
            note,
            now,
        )
        .await?;
    }
    let mut am: referral::ActiveModel = r.clone().into();
    am.status = Set(status.to_string());
    am.updated_at = Set(now);
    if status == "closed" {
        am.outcome = Set(outcome.map(str::to_string));
        am.closed_at = Set(Some(now));
    }
    if r.claimed_by.is_none() {
        am.claimed_by = Set(Some(worker_id));
    }
    let updated = am.update(&txn).await?;
    let detail = match outcome {
        Some(o) if status == "closed" => format!("{status}:{o}"),
        _ => status.to_string(),
    };
    service::event(
        &txn,
        id,
        "status",
        Some(worker_id),
        Some(organisation),
        Some(detail),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Moves a referral to another organisation (coordinators and admins).
pub async fn transfer(
    state: &AppState,
    organisation: Uuid,
    worker_id: Uuid,
    id: Uuid,
    to: Uuid,
    reason: &str,
) -> ApiResult<referral::Model> {
    let r = find(&state.db, organisation, id).await?;
    if !service::is_open(&r.status) {
        return Err(ApiError::Conflict("this referral is closed".into()));
    }
    if to == organisation {
        return Err(ApiError::field(
            "organisation_id",
            "the referral is already with this organisation",
        ));
    }
    let dir = state.directory.load();
    let Some(target) = dir
        .organisations_by_id
        .get(&to)
        .map(|&i| &dir.organisations[i])
    else {
        return Err(ApiError::field(
            "organisation_id",
            "no active organisation has this id",
        ));
    };
    let staffed = worker::Entity::find()
        .filter(
            Condition::all()
                .add(worker::Column::OrganisationId.eq(to))
                .add(worker::Column::Active.eq(true)),
        )
        .count(&state.db)
        .await?
        > 0;
    if !staffed {
        return Err(ApiError::field(
            "organisation_id",
            "this organisation has no youth-worker accounts yet",
        ));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    service::add_message(
        &txn,
        &state.keys,
        &r,
        SENDER_NOTE,
        Some(worker_id),
        reason.trim(),
        now,
    )
    .await?;
    // The young person is told in their thread, as the privacy promise says.
    service::add_message(
        &txn,
        &state.keys,
        &r,
        SENDER_SIGNPOST,
        None,
        &format!(
            "Your request has moved to {}, who can help with it better. A youth worker there will read it and reply here.",
            target.name
        ),
        now,
    )
    .await?;
    let mut am: referral::ActiveModel = r.into();
    am.organisation_id = Set(to);
    am.claimed_by = Set(None);
    am.status = Set("assigned".into());
    am.updated_at = Set(now);
    let updated = am.update(&txn).await?;
    service::event(
        &txn,
        id,
        "transferred",
        Some(worker_id),
        Some(organisation),
        Some(target.slug.clone()),
        now,
    )
    .await?;
    crate::notify::outbox::enqueue(
        &txn,
        to,
        &[crate::notify::outbox::PURPOSE_NOTIFY],
        crate::notify::outbox::EVENT_TRANSFERRED,
        &updated,
        now,
        state.settings.outbox_retry_hours,
    )
    .await?;
    txn.commit().await?;
    state.outbox_wake.notify_one();
    Ok(updated)
}

pub fn is_status(s: &str) -> bool {
    STATUSES.contains(&s)
}
