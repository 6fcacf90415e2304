//! The inbox's unread mark and its "waiting for us" filter. Kept cheap to read with
//! thousands of referrals: `referrals` carries who wrote the thread's last message and when
//! the young person last wrote (kept up to date by [`written`] wherever the thread is
//! written), and `referral_views` when each worker last opened each referral ([`viewed`]).
//! A page of the inbox costs one extra query for its unread marks ([`unread_among`]).
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Alias, Expr, ExprTrait, JoinType, OnConflict, Query},
};
use uuid::Uuid;

use crate::entities::{referral, referral_view};
use crate::error::ApiResult;
use crate::referrals::service::{SENDER_WORKER, SENDER_YOUNG_PERSON};

/// `young_person` or `youth_worker`: who wrote the thread's last message. Private notes and
/// Signpost's notices do not count. Empty while nobody has written in the thread.
const LAST_MESSAGE_FROM: &str = "last_message_from";
const LAST_MESSAGE_AT: &str = "last_message_at";
/// When the young person last wrote in the thread.
const YOUNG_PERSON_WROTE_AT: &str = "young_person_wrote_at";

fn col(name: &'static str) -> Expr {
    Expr::col((referral::Entity, Alias::new(name)))
}

/// A message was added to a referral's thread, in the same transaction. Only the young
/// person's messages and youth workers' replies change who spoke last.
pub async fn written<C: ConnectionTrait>(
    db: &C,
    referral_id: Uuid,
    sender: &str,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    let mut update = referral::Entity::update_many()
        .col_expr(Alias::new(LAST_MESSAGE_AT), Expr::value(at))
        .col_expr(
            Alias::new(LAST_MESSAGE_FROM),
            Expr::value(sender.to_string()),
        );
    if sender == SENDER_YOUNG_PERSON {
        update = update.col_expr(Alias::new(YOUNG_PERSON_WROTE_AT), Expr::value(at));
    } else if sender != SENDER_WORKER {
        return Ok(());
    }
    update
        .filter(referral::Column::Id.eq(referral_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A worker opened a referral: replaces when they last did.
pub async fn viewed<C: ConnectionTrait>(
    db: &C,
    worker_id: Uuid,
    referral_id: Uuid,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    referral_view::Entity::insert(referral_view::ActiveModel {
        worker_id: Set(worker_id),
        referral_id: Set(referral_id),
        viewed_at: Set(at),
    })
    .on_conflict(
        OnConflict::columns([
            referral_view::Column::WorkerId,
            referral_view::Column::ReferralId,
        ])
        .update_column(referral_view::Column::ViewedAt)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Which of these referrals are unread for this worker: the young person has written
/// since the worker last opened it (or they never have). One query for the lot.
pub async fn unread_among<C: ConnectionTrait>(
    db: &C,
    worker_id: Uuid,
    ids: &[Uuid],
) -> ApiResult<HashSet<Uuid>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let viewed_at = || Expr::col((referral_view::Entity, referral_view::Column::ViewedAt));
    let stmt = Query::select()
        .column((referral::Entity, referral::Column::Id))
        .from(referral::Entity)
        .join(
            JoinType::LeftJoin,
            referral_view::Entity,
            Condition::all()
                .add(
                    Expr::col((referral_view::Entity, referral_view::Column::ReferralId))
                        .equals((referral::Entity, referral::Column::Id)),
                )
                .add(
                    Expr::col((referral_view::Entity, referral_view::Column::WorkerId))
                        .eq(worker_id),
                ),
        )
        .and_where(Expr::col((referral::Entity, referral::Column::Id)).is_in(ids.iter().copied()))
        .and_where(col(YOUNG_PERSON_WROTE_AT).is_not_null())
        .cond_where(
            Condition::any()
                .add(viewed_at().is_null())
                .add(viewed_at().lt(col(YOUNG_PERSON_WROTE_AT))),
        )
        .to_owned();
    let rows = db.query_all(&stmt).await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect::<Result<HashSet<_>, _>>()?)
}

/// How long one opening of a referral lasts, for the record: opening it again sooner, with
/// nothing new from the young person, is the same visit.
pub const SAME_VISIT: chrono::Duration = chrono::Duration::minutes(10);

/// Whether opening a referral now should be recorded (the audit trail's "viewed" and the
/// last-viewed time): the first time, once the young person has written since, or after
/// [`SAME_VISIT`]. So the page shown again after each reply or note adds no "Opened" line
/// and costs no write, and the unread mark is still exact: it only changes when the young
/// person has written since the recorded time.
pub async fn worth_recording<C: ConnectionTrait>(
    db: &C,
    worker_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let last = referral_view::Entity::find_by_id((worker_id, id))
        .one(db)
        .await?
        .map(|v| v.viewed_at);
    Ok(match last {
        None => true,
        Some(at) if now - at >= SAME_VISIT => true,
        Some(_) => is_unread(db, worker_id, id).await?,
    })
}

/// Whether this one referral is unread for this worker.
pub async fn is_unread<C: ConnectionTrait>(db: &C, worker_id: Uuid, id: Uuid) -> ApiResult<bool> {
    Ok(unread_among(db, worker_id, &[id]).await?.contains(&id))
}

/// "Waiting for us": open, and the young person had the last word — they wrote after
/// the team's last reply, or nobody has answered their request yet.
pub fn waiting_for_us() -> Condition {
    Condition::all()
        .add(referral::Column::Status.is_not_in(["closed", "withdrawn"]))
        .add(
            Condition::any()
                .add(col(LAST_MESSAGE_FROM).eq(SENDER_YOUNG_PERSON))
                .add(col(LAST_MESSAGE_FROM).is_null()),
        )
}
