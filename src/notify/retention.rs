//! Retention: closed and withdrawn referrals are erased a set time after they end. What
//! the young person wrote, the thread and the notifications go; a content-free row stays
//! for statistics, and each purge is an audit event. Expired logins, kept answers for
//! retried requests (after 24 hours) and resolved reports of wrong listings go too.
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    TransactionTrait,
};

use crate::entities::{login_challenge, outbox, referral, referral_message, worker_session};
use crate::referrals::{idempotency, service};
use crate::reports;
use crate::state::AppState;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub referrals: usize,
    pub sessions: u64,
    /// Kept answers for `Idempotency-Key` retries, after 24 hours.
    pub idempotent_answers: u64,
    /// Resolved reports of wrong listings, after the retention period.
    pub reports: u64,
}

pub async fn purge(state: &AppState) -> Result<Purged, sea_orm::DbErr> {
    let now = state.clock.now();
    let cutoff = now - Duration::days(i64::from(state.settings.retention_days));
    let due = referral::Entity::find()
        .filter(referral::Column::PurgedAt.is_null())
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(referral::Column::Status.eq("closed"))
                        .add(referral::Column::ClosedAt.lte(cutoff)),
                )
                .add(
                    Condition::all()
                        .add(referral::Column::Status.eq("withdrawn"))
                        .add(referral::Column::WithdrawnAt.lte(cutoff)),
                ),
        )
        .all(&state.db)
        .await?;
    let mut done = Purged::default();
    for r in due {
        let txn = state.db.begin().await?;
        referral_message::Entity::delete_many()
            .filter(referral_message::Column::ReferralId.eq(r.id))
            .exec(&txn)
            .await?;
        outbox::Entity::delete_many()
            .filter(outbox::Column::ReferralId.eq(r.id))
            .exec(&txn)
            .await?;
        idempotency::forget_referral(&txn, r.id).await?;
        let id = r.id;
        let mut am: referral::ActiveModel = r.clone().into();
        am.receipt_hash = Set(None);
        am.message_sealed = Set(None);
        am.age_sealed = Set(None);
        am.where_sealed = Set(None);
        am.contact_method = Set(None);
        am.contact_sealed = Set(None);
        am.erased_at = Set(Some(r.erased_at.unwrap_or(now)));
        am.purged_at = Set(Some(now));
        am.updated_at = Set(now);
        am.update(&txn).await?;
        service::event(&txn, id, "purged", None, None, None, now)
            .await
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
        txn.commit().await?;
        done.referrals += 1;
    }
    done.sessions = worker_session::Entity::delete_many()
        .filter(
            Condition::any()
                .add(worker_session::Column::ExpiresAt.lte(now))
                .add(worker_session::Column::RevokedAt.is_not_null()),
        )
        .exec(&state.db)
        .await?
        .rows_affected;
    done.idempotent_answers = idempotency::purge_expired(&state.db, now).await?;
    // Sign-in steps left half-way (password given, no code) expire after ten minutes.
    login_challenge::Entity::delete_many()
        .filter(login_challenge::Column::ExpiresAt.lte(now))
        .exec(&state.db)
        .await?;
    done.reports = reports::purge_resolved(&state.db, cutoff).await?;
    state.guards.prune();
    Ok(done)
}
