//! Self-referrals: creating one, letting the young person back in with their receipt,
//! their thread, and withdrawal (which erases what they wrote).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::model::{NewReferral, ThreadMessage};
use crate::crypto::{Keys, Receipt, new_reference};
use crate::entities::{referral, referral_event, referral_message, worker};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::geo::{Gazetteer, LookupError};
use crate::state::AppState;

pub const URGENT: &str = "urgent";
pub const ROUTINE: &str = "routine";
/// What a young person is told about how soon to expect an answer.
pub const URGENT_RESPONSE_HOURS: u32 = 2;
pub const ROUTINE_RESPONSE_HOURS: u32 = 48;

pub const SENDER_YOUNG_PERSON: &str = "young_person";
pub const SENDER_WORKER: &str = "youth_worker";
/// A worker's private note on a referral: never shown to the young person.
pub const SENDER_NOTE: &str = "worker_note";

/// Statuses in which the thread is open.
pub fn is_open(status: &str) -> bool {
    !matches!(status, "closed" | "withdrawn")
}

pub struct Created {
    pub referral: referral::Model,
    pub receipt: Receipt,
    pub organisation_slug: String,
    pub organisation_name: String,
}

/// What a referral says, checked against the directory and the rules.
struct Checked {
    needs: Vec<String>,
    borough_id: Option<i32>,
    age: Option<u8>,
    service: Option<(Uuid, Option<Uuid>)>,
    urgent: bool,
}

fn check(state: &AppState, input: &NewReferral) -> ApiResult<Checked> {
    let rules = &state.referral_rules;
    let mut errors = Vec::new();
    if input
        .website
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty())
    {
        errors.push(FieldError::new("website", "must be left empty"));
    }
    if input.message.trim().is_empty() {
        errors.push(FieldError::new("message", "must not be empty"));
    }
    let mut needs: Vec<String> = Vec::new();
    for n in &input.needs {
        let n = n.trim();
        if rules.need(n).is_none() {
            errors.push(FieldError::new(
                "needs",
                format!("unknown need {n:?}; see /v1/referrals/needs"),
            ));
        } else if !needs.iter().any(|x| x == n) {
            needs.push(n.to_string());
        }
    }
    let borough_id = match input
        .where_
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        None => None,
        Some(w) => match borough_of(&state.gazetteer, w) {
            Ok(id) => Some(id),
            Err(message) => {
                errors.push(FieldError::new("where", message));
                None
            }
        },
    };
    let dir = state.directory.load();
    let service = match input
        .service_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => match Uuid::parse_str(raw)
            .ok()
            .and_then(|id| dir.by_id.get(&id).copied())
        {
            Some(i) => {
                let s = &dir.services[i];
                let org = s
                    .accepts_self_referral
                    .then(|| dir.organisations[s.organisation].id);
                Some((s.id, org))
            }
            None => {
                errors.push(FieldError::new(
                    "service_id",
                    "no listed service has this id",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let urgent = input.in_danger_now
        || needs
            .iter()
            .any(|n| rules.need(n).is_some_and(|x| x.urgent))
        || rules.has_urgent_words(&input.message);
    Ok(Checked {
        needs,
        borough_id,
        age: input.age.and_then(|a| u8::try_from(a).ok()),
        service,
        urgent,
    })
}

/// A borough slug or GSS code, a postcode or an outward code, to a borough id.
fn borough_of(gazetteer: &Gazetteer, raw: &str) -> Result<i32, String> {
    if let Some(b) = gazetteer.borough(raw) {
        return Ok(b.id);
    }
    gazetteer
        .resolve(raw)
        .map(|p| p.borough.id)
        .map_err(|e| match e {
            LookupError::Malformed => {
                "must be a London postcode, outward code or borough (like E8 3PL, E8 or hackney)"
                    .to_string()
            }
            other => other.to_string(),
        })
}

/// True when the organisation has at least one active youth-worker account.
async fn has_active_worker<C: ConnectionTrait>(db: &C, organisation: Uuid) -> ApiResult<bool> {
    Ok(worker::Entity::find()
        .filter(worker::Column::OrganisationId.eq(organisation))
        .filter(worker::Column::Active.eq(true))
        .count(db)
        .await?
        > 0)
}

pub async fn event<C: ConnectionTrait>(
    db: &C,
    referral_id: Uuid,
    kind: &str,
    worker_id: Option<Uuid>,
    organisation_id: Option<Uuid>,
    detail: Option<String>,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    referral_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        referral_id: Set(referral_id),
        kind: Set(kind.to_string()),
        worker_id: Set(worker_id),
        organisation_id: Set(organisation_id),
        detail: Set(detail),
        at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn create(state: &AppState, input: NewReferral) -> ApiResult<Created> {
    let checked = check(state, &input)?;
    let now = state.clock.now();
    let dir = state.directory.load();
    let org_by_slug = |slug: &str| dir.organisations.iter().find(|o| o.slug == slug);
    let rules = &state.referral_rules;

    // A service that takes self-referrals first, then the rules, then the duty team; a
    // team with nobody to read it passes it to the duty team. Never refused.
    let mut organisation = checked
        .service
        .and_then(|(_, org)| org)
        .and_then(|id| {
            dir.organisations_by_id
                .get(&id)
                .map(|&i| &dir.organisations[i])
        })
        .or_else(|| org_by_slug(rules.route(&checked.needs, checked.borough_id, checked.age)));
    if let Some(o) = organisation
        && !has_active_worker(&state.db, o.id).await?
    {
        organisation = None;
    }
    let Some(organisation) = organisation.or_else(|| org_by_slug(&rules.duty_team)) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "the duty team {} is not in the directory",
            rules.duty_team
        )));
    };

    let keys: &Keys = &state.keys;
    for _ in 0..5 {
        let id = Uuid::now_v7();
        let aad = id.as_bytes();
        let receipt = Receipt::generate();
        let contact = input.contact.as_ref();
        let row = referral::ActiveModel {
            id: Set(id),
            reference: Set(new_reference()),
            receipt_hash: Set(Some(keys.receipt_hash(&receipt))),
            status: Set("assigned".into()),
            urgency: Set(if checked.urgent { URGENT } else { ROUTINE }.into()),
            needs: Set(serde_json::to_string(&checked.needs).unwrap_or_else(|_| "[]".into())),
            borough_id: Set(checked.borough_id),
            organisation_id: Set(organisation.id),
            service_id: Set(checked.service.map(|(s, _)| s)),
            in_danger_now: Set(input.in_danger_now),
            message_sealed: Set(Some(keys.seal(input.message.trim(), aad))),
            age_sealed: Set(checked.age.map(|a| keys.seal(&a.to_string(), aad))),
            where_sealed: Set(input
                .where_
                .as_deref()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(|w| keys.seal(w, aad))),
            contact_method: Set(contact.map(|c| c.method.as_str().to_string())),
            contact_sealed: Set(contact
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .map(|json| keys.seal(&json, aad))),
            claimed_by: Set(None),
            outcome: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            closed_at: Set(None),
            withdrawn_at: Set(None),
            erased_at: Set(None),
            escalated_at: Set(None),
            reminded_at: Set(None),
            purged_at: Set(None),
        };
        let txn = state.db.begin().await?;
        match row.insert(&txn).await {
            Ok(referral) => {
                event(&txn, id, "received", None, None, None, now).await?;
                event(
                    &txn,
                    id,
                    "assigned",
                    None,
                    Some(organisation.id),
                    Some(organisation.slug.clone()),
                    now,
                )
                .await?;
                crate::notify::outbox::enqueue(
                    &txn,
                    organisation.id,
                    &[crate::notify::outbox::PURPOSE_NOTIFY],
                    crate::notify::outbox::EVENT_ROUTED,
                    &referral,
                    now,
                    state.settings.outbox_retry_hours,
                )
                .await?;
                txn.commit().await?;
                state.outbox_wake.notify_one();
                return Ok(Created {
                    referral,
                    receipt,
                    organisation_slug: organisation.slug.clone(),
                    organisation_name: organisation.name.clone(),
                });
            }
            // A reference collision (40 bits): try again with new random values.
            Err(err) if is_unique_violation(&err) => {
                txn.rollback().await?;
                continue;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "could not allocate a unique reference"
    )))
}

fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Finds the referral a receipt opens. Every path does the same work (one HMAC, one
/// indexed lookup), so an unknown, malformed, erased or withdrawn receipt cannot be told
/// apart by its answer or its timing.
pub async fn find_by_receipt(
    db: &DatabaseConnection,
    keys: &Keys,
    raw: Option<&str>,
) -> ApiResult<Option<referral::Model>> {
    let parsed = raw.and_then(Receipt::parse);
    let hash = match &parsed {
        Some(r) => keys.receipt_hash(r),
        None => keys.dummy_receipt_hash(),
    };
    let found = referral::Entity::find()
        .filter(referral::Column::ReceiptHash.eq(hash))
        .one(db)
        .await?;
    Ok(found.filter(|r| parsed.is_some() && r.status != "withdrawn"))
}

/// The thread as the young person sees it (worker notes left out).
pub async fn thread_for_young_person(
    db: &DatabaseConnection,
    keys: &Keys,
    r: &referral::Model,
) -> ApiResult<Vec<ThreadMessage>> {
    let messages = referral_message::Entity::find()
        .filter(referral_message::Column::ReferralId.eq(r.id))
        .filter(referral_message::Column::Sender.ne(SENDER_NOTE))
        .order_by_asc(referral_message::Column::SentAt)
        .order_by_asc(referral_message::Column::Id)
        .all(db)
        .await?;
    let worker_ids: Vec<Uuid> = messages.iter().filter_map(|m| m.worker_id).collect();
    let names: HashMap<Uuid, String> = if worker_ids.is_empty() {
        HashMap::new()
    } else {
        worker::Entity::find()
            .filter(worker::Column::Id.is_in(worker_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|w| (w.id, first_name(&w.name)))
            .collect()
    };
    messages
        .into_iter()
        .map(|m| {
            let body = keys
                .open(&m.body_sealed, r.id.as_bytes())
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("message {}: {e}", m.id)))?;
            let from_worker = m.sender == SENDER_WORKER;
            Ok(ThreadMessage {
                id: m.id,
                from: if from_worker { "youth_worker" } else { "you" }.into(),
                worker_name: m
                    .worker_id
                    .filter(|_| from_worker)
                    .and_then(|w| names.get(&w).cloned()),
                body,
                sent_at: m.sent_at,
            })
        })
        .collect()
}

/// Only the first name of a youth worker is shown to a young person.
pub fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Adds a message to a referral's thread.
pub async fn add_message<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    r: &referral::Model,
    sender: &str,
    worker_id: Option<Uuid>,
    body: &str,
    now: DateTime<Utc>,
) -> ApiResult<referral_message::Model> {
    let m = referral_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        referral_id: Set(r.id),
        sender: Set(sender.to_string()),
        worker_id: Set(worker_id),
        body_sealed: Set(keys.seal(body, r.id.as_bytes())),
        sent_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(m)
}

/// Messages a young person sent on a referral since `since`.
pub async fn young_person_messages_since(
    db: &DatabaseConnection,
    referral_id: Uuid,
    since: DateTime<Utc>,
) -> ApiResult<u64> {
    Ok(referral_message::Entity::find()
        .filter(referral_message::Column::ReferralId.eq(referral_id))
        .filter(referral_message::Column::Sender.eq(SENDER_YOUNG_PERSON))
        .filter(referral_message::Column::SentAt.gte(since))
        .count(db)
        .await?)
}

/// Withdraws a referral and erases what the young person wrote: the message, contact
/// details, age, where, and the whole thread. A content-free row stays for statistics.
pub async fn withdraw(
    db: &DatabaseConnection,
    r: referral::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let txn = db.begin().await?;
    referral_message::Entity::delete_many()
        .filter(referral_message::Column::ReferralId.eq(r.id))
        .exec(&txn)
        .await?;
    let id = r.id;
    let mut am: referral::ActiveModel = r.into();
    am.receipt_hash = Set(None);
    am.status = Set("withdrawn".into());
    am.message_sealed = Set(None);
    am.age_sealed = Set(None);
    am.where_sealed = Set(None);
    am.contact_method = Set(None);
    am.contact_sealed = Set(None);
    am.withdrawn_at = Set(Some(now));
    am.erased_at = Set(Some(now));
    am.updated_at = Set(now);
    am.update(&txn).await?;
    event(&txn, id, "withdrawn", None, None, None, now).await?;
    txn.commit().await?;
    Ok(())
}
