//! Self-referrals: creating one, letting the young person back in with their receipt,
//! their thread, and withdrawal (which erases what they wrote).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;

use super::idempotency::{self, Answer, Claim};
use super::model::{NeedView, NewReferral, OwnReferral, ReferralReceipt, RoutedTo, ThreadMessage};
use super::staffing::{self, Reader};
use crate::crypto::{Keys, Receipt, new_reference};
use crate::entities::{referral, referral_event, referral_message, worker};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::geo::{Gazetteer, LookupError};
use crate::help;
use crate::notify::outbox;
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
/// A notice from Signpost itself in the thread, such as a move to another team: shown to
/// both sides.
pub const SENDER_SIGNPOST: &str = "signpost";

/// Statuses in which the thread is open.
pub fn is_open(status: &str) -> bool {
    !matches!(status, "closed" | "withdrawn")
}

/// What a referral says, checked against the directory and the rules.
struct Checked {
    needs: Vec<String>,
    borough_id: Option<i32>,
    age: Option<u8>,
    service: Option<(Uuid, Option<Uuid>)>,
    urgent: bool,
    /// What the message and needs are about, to put the help lines that fit first.
    topics: std::collections::BTreeSet<String>,
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
    // The server decides urgency: the danger flag, an urgent need, or urgent words.
    let triage = rules.triage(&input.message, &needs);
    Ok(Checked {
        urgent: input.in_danger_now || triage.urgent,
        topics: triage.topics,
        needs,
        borough_id,
        age: input.age.and_then(|a| u8::try_from(a).ok()),
        service,
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

/// How soon a young person is told to expect an answer.
pub fn respond_within_hours(urgent: bool) -> u32 {
    if urgent {
        URGENT_RESPONSE_HOURS
    } else {
        ROUTINE_RESPONSE_HOURS
    }
}

/// Makes a referral and answers it. With a `claim`, the answer is kept (sealed) in the
/// same transaction, so a retry — even one racing this request — gets this answer.
pub async fn create(
    state: &AppState,
    input: NewReferral,
    claim: Option<Claim>,
) -> ApiResult<Answer<Box<ReferralReceipt>>> {
    let checked = check(state, &input)?;
    let now = state.clock.now();
    let dir = state.directory.load();
    let org_by_slug = |slug: &str| dir.organisations.iter().find(|o| o.slug == slug);
    let rules = &state.referral_rules;
    let Some(duty) = org_by_slug(&rules.duty_team) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "the duty team {} is not in the directory",
            rules.duty_team
        )));
    };

    // A service that takes self-referrals first, then the rules, then the duty team; a
    // team with nobody to read it passes it to the duty team at once. Never refused.
    let routed = checked
        .service
        .and_then(|(_, org)| org)
        .and_then(|id| {
            dir.organisations_by_id
                .get(&id)
                .map(|&i| &dir.organisations[i])
        })
        .or_else(|| org_by_slug(rules.route(&checked.needs, checked.borough_id, checked.age)))
        .unwrap_or(duty);
    let (organisation, passed_over) =
        if routed.id != duty.id && staffing::active_workers(&state.db, routed.id).await? == 0 {
            (duty, Some(routed))
        } else {
            (routed, None)
        };
    let duty_staffed =
        organisation.id != duty.id || staffing::active_workers(&state.db, duty.id).await? > 0;
    let reader = match (duty_staffed, passed_over) {
        (false, _) => Reader::Nobody,
        (true, Some(_)) => Reader::DutyTeamInstead,
        (true, None) => Reader::Team,
    };
    // Nobody at the team it was meant for, or nobody at all: the duty team's escalation
    // endpoints hear of it now, not after the usual wait.
    let escalate_now = reader != Reader::Team;
    let escalation_detail = match passed_over {
        Some(o) => format!("no active youth worker at {}", o.slug),
        None => "the duty team has no active youth worker".to_string(),
    };
    let urgency = if checked.urgent { URGENT } else { ROUTINE };
    let hours = respond_within_hours(checked.urgent);
    let help = help::ordered_for(
        &state.catalogue.load().help,
        checked.urgent,
        &checked.topics,
    );

    let keys: &Keys = &state.keys;
    for _ in 0..5 {
        let id = Uuid::now_v7();
        let aad = id.as_bytes();
        let receipt = Receipt::generate();
        let reference = new_reference();
        let answer = ReferralReceipt {
            reference: reference.clone(),
            receipt: receipt.display(),
            status: "received".into(),
            urgency: urgency.into(),
            routed_to: RoutedTo {
                slug: organisation.slug.clone(),
                name: organisation.name.clone(),
            },
            respond_within_hours: hours,
            what_happens_next: staffing::what_happens_next(reader, &organisation.name, hours),
            help: help.clone(),
        };
        let contact = input.contact.as_ref();
        let row = referral::ActiveModel {
            id: Set(id),
            reference: Set(reference),
            receipt_hash: Set(Some(keys.receipt_hash(&receipt))),
            status: Set("assigned".into()),
            urgency: Set(urgency.into()),
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
            escalated_at: Set(escalate_now.then_some(now)),
            reminded_at: Set(None),
            purged_at: Set(None),
            young_person_seen_at: Set(None),
        };
        let txn = state.db.begin().await?;
        // The kept answer first: a second request with the same key waits here.
        if let Some(claim) = &claim {
            match idempotency::store(
                &txn,
                keys,
                claim,
                Some(id),
                StatusCode::CREATED,
                &answer,
                now,
            )
            .await
            {
                Ok(()) => {}
                Err(err) if idempotency::is_taken(&err) => {
                    txn.rollback().await?;
                    return match idempotency::find(&state.db, keys, claim, now).await? {
                        Some(replay) => Ok(Answer::Replayed(replay)),
                        None => Err(ApiError::Conflict(
                            "A request with this Idempotency-Key is still being handled. Try again in a moment.".into(),
                        )),
                    };
                }
                Err(err) => return Err(err.into()),
            }
        }
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
                let retry = state.settings.outbox_retry_hours;
                outbox::enqueue(
                    &txn,
                    organisation.id,
                    &[outbox::PURPOSE_NOTIFY],
                    outbox::EVENT_ROUTED,
                    &referral,
                    now,
                    retry,
                )
                .await?;
                if escalate_now {
                    outbox::enqueue(
                        &txn,
                        duty.id,
                        &[outbox::PURPOSE_ESCALATION],
                        outbox::EVENT_ESCALATED,
                        &referral,
                        now,
                        retry,
                    )
                    .await?;
                    event(
                        &txn,
                        id,
                        "escalated",
                        None,
                        Some(duty.id),
                        Some(escalation_detail.clone()),
                        now,
                    )
                    .await?;
                }
                txn.commit().await?;
                state.outbox_wake.notify_one();
                if reader == Reader::Nobody {
                    state
                        .metrics
                        .unread_by_anyone
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        duty_team = %duty.slug,
                        "a referral has nobody to read it: the duty team has no active youth worker; add one with `signpost workers add`"
                    );
                }
                return Ok(Answer::Fresh(Box::new(answer)));
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
            let from = match m.sender.as_str() {
                SENDER_WORKER => "youth_worker",
                SENDER_SIGNPOST => "signpost",
                _ => "you",
            };
            Ok(ThreadMessage {
                id: m.id,
                from: from.into(),
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
    idempotency::forget_referral(&txn, id).await?;
    txn.commit().await?;
    Ok(())
}

/// `GET /v1/referrals/self`: everything a young person needs to pick up where they left
/// off, on any phone.
pub async fn own_view(state: &AppState, r: &referral::Model) -> ApiResult<OwnReferral> {
    let messages = thread_for_young_person(&state.db, &state.keys, r).await?;
    let urgent = r.urgency == URGENT;
    let seen = r.young_person_seen_at;
    let unread = messages
        .iter()
        .filter(|m| m.from != "you" && seen.is_none_or(|s| m.sent_at > s))
        .count();
    let updated_at = messages
        .iter()
        .map(|m| m.sent_at)
        .fold(r.updated_at, std::cmp::max);
    let rules = &state.referral_rules;
    let need_slugs: Vec<String> = serde_json::from_str(&r.needs).unwrap_or_default();
    let needs = need_slugs
        .iter()
        .filter_map(|slug| rules.need(slug))
        .map(|n| NeedView {
            slug: n.slug.clone(),
            name: n.name.clone(),
            description: n.description.clone(),
        })
        .collect();
    let message = match &r.message_sealed {
        Some(sealed) => Some(
            state
                .keys
                .open(sealed, r.id.as_bytes())
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("referral {}: {e}", r.id)))?,
        ),
        None => None,
    };
    let topics = rules
        .triage(message.as_deref().unwrap_or_default(), &need_slugs)
        .topics;
    let routed_to = routed_to(state, r);
    let hours = respond_within_hours(urgent);
    let team_staffed = staffing::active_workers(&state.db, r.organisation_id).await? > 0;
    Ok(OwnReferral {
        reference: r.reference.clone(),
        status: r.status.clone(),
        urgency: r.urgency.clone(),
        created_at: r.created_at,
        updated_at,
        what_happens_next: staffing::status_next_step(
            &r.status,
            &routed_to.name,
            team_staffed,
            hours,
        ),
        routed_to,
        needs,
        message,
        respond_within_hours: hours,
        unread: u32::try_from(unread).unwrap_or(u32::MAX),
        messages,
        help: help::ordered_for(&state.catalogue.load().help, urgent, &topics),
    })
}

/// The team a referral is with, as the young person is shown it.
pub fn routed_to(state: &AppState, r: &referral::Model) -> RoutedTo {
    let dir = state.directory.load();
    dir.organisations_by_id
        .get(&r.organisation_id)
        .map(|&i| &dir.organisations[i])
        .map_or_else(
            || RoutedTo {
                slug: state.referral_rules.duty_team.clone(),
                name: "Signpost".into(),
            },
            |o| RoutedTo {
                slug: o.slug.clone(),
                name: o.name.clone(),
            },
        )
}

/// Records when the young person opened a thread with a reply they had not seen. Only
/// the time is kept.
pub async fn mark_seen(
    db: &DatabaseConnection,
    referral_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    referral::Entity::update_many()
        .col_expr(
            referral::Column::YoungPersonSeenAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(referral::Column::Id.eq(referral_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Replaces a receipt someone else may have seen. The old one stops working at once: the
/// update only happens while the row still holds the old hash, so of two replacements
/// at once exactly one wins. Kept idempotent answers, which hold the old receipt, go.
pub async fn replace_receipt(state: &AppState, r: &referral::Model) -> ApiResult<Option<Receipt>> {
    let Some(old) = r.receipt_hash.clone() else {
        return Ok(None);
    };
    let now = state.clock.now();
    let receipt = Receipt::generate();
    let txn = state.db.begin().await?;
    let done = referral::Entity::update_many()
        .col_expr(
            referral::Column::ReceiptHash,
            sea_orm::sea_query::Expr::value(state.keys.receipt_hash(&receipt)),
        )
        .filter(referral::Column::Id.eq(r.id))
        .filter(referral::Column::ReceiptHash.eq(old))
        .filter(referral::Column::Status.ne("withdrawn"))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    idempotency::forget_referral(&txn, r.id).await?;
    event(&txn, r.id, "receipt_replaced", None, None, None, now).await?;
    txn.commit().await?;
    Ok(Some(receipt))
}

/// A young person writes on their thread. With a `claim`, a retry gets the same message
/// back and nothing is added twice.
pub async fn young_person_writes(
    state: &AppState,
    r: &referral::Model,
    body: &str,
    claim: Option<Claim>,
) -> ApiResult<Answer<ThreadMessage>> {
    let now = state.clock.now();
    if let Some(claim) = &claim
        && let Some(replay) = idempotency::find(&state.db, &state.keys, claim, now).await?
    {
        return Ok(Answer::Replayed(replay));
    }
    if !is_open(&r.status) {
        return Err(ApiError::Conflict(
            "This conversation is closed. You can make a new referral at any time.".into(),
        ));
    }
    let sent_today =
        young_person_messages_since(&state.db, r.id, now - chrono::Duration::hours(24)).await?;
    if sent_today >= u64::from(state.settings.messages_per_day) {
        return Err(ApiError::TooManyRequests {
            detail: "You have sent a lot of messages today. Your youth worker will read them. If you are in danger now, call 999.".into(),
            retry_after_secs: 3600,
        });
    }
    let id = Uuid::now_v7();
    let answer = ThreadMessage {
        id,
        from: "you".into(),
        worker_name: None,
        body: body.to_string(),
        sent_at: now,
    };
    let txn = state.db.begin().await?;
    if let Some(claim) = &claim {
        match idempotency::store(
            &txn,
            &state.keys,
            claim,
            Some(r.id),
            StatusCode::CREATED,
            &answer,
            now,
        )
        .await
        {
            Ok(()) => {}
            Err(err) if idempotency::is_taken(&err) => {
                txn.rollback().await?;
                return match idempotency::find(&state.db, &state.keys, claim, now).await? {
                    Some(replay) => Ok(Answer::Replayed(replay)),
                    None => Err(ApiError::Conflict(
                        "A request with this Idempotency-Key is still being handled. Try again in a moment.".into(),
                    )),
                };
            }
            Err(err) => return Err(err.into()),
        }
    }
    referral_message::ActiveModel {
        id: Set(id),
        referral_id: Set(r.id),
        sender: Set(SENDER_YOUNG_PERSON.to_string()),
        worker_id: Set(None),
        body_sealed: Set(state.keys.seal(body, r.id.as_bytes())),
        sent_at: Set(now),
    }
    .insert(&txn)
    .await?;
    // Who spoke last, for the inbox's unread mark and "waiting for us".
    crate::workers::unread::written(&txn, r.id, SENDER_YOUNG_PERSON, now).await?;
    event(&txn, r.id, "young_person_message", None, None, None, now).await?;
    outbox::enqueue(
        &txn,
        r.organisation_id,
        &[outbox::PURPOSE_NOTIFY],
        outbox::EVENT_MESSAGE,
        r,
        now,
        state.settings.outbox_retry_hours,
    )
    .await?;
    txn.commit().await?;
    state.outbox_wake.notify_one();
    Ok(Answer::Fresh(answer))
}
