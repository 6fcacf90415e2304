//! Escalation: an urgent referral nobody has claimed in time goes to its organisation's
//! escalation endpoints and the London-wide duty team; a routine one unclaimed for two
//! working days gets a reminder. Each happens once (a conditional update marks it) and
//! is recorded as an event.
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::London;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};

use super::outbox::{self, EVENT_ESCALATED, EVENT_REMINDER, PURPOSE_ESCALATION, PURPOSE_NOTIFY};
use crate::entities::referral;
use crate::referrals::service;
use crate::state::AppState;

/// `start` plus `days` working days (Monday to Friday, Europe/London wall-clock time).
/// Weekend time does not count: Friday 10:00 plus two working days is Tuesday 10:00.
pub fn add_working_days(start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let mut local: NaiveDateTime = start.with_timezone(&London).naive_local();
    let mut remaining = Duration::days(i64::from(days));
    while let Some(next_midnight) = local.date().succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)) {
        if !matches!(local.weekday(), Weekday::Sat | Weekday::Sun) {
            let span = next_midnight - local;
            if remaining <= span {
                local += remaining;
                break;
            }
            remaining -= span;
        }
        local = next_midnight;
    }
    // A time skipped by the clocks going forward resolves an hour later.
    London
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            London
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map_or(start, |t| t.with_timezone(&Utc))
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Escalations {
    pub escalated: usize,
    pub reminded: usize,
}

fn unclaimed() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(referral::Column::Status.eq("assigned"))
        .add(referral::Column::ClaimedBy.is_null())
}

pub async fn run_once(state: &AppState) -> Result<Escalations, sea_orm::DbErr> {
    let now = state.clock.now();
    let mut done = Escalations::default();
    let dir = state.directory.load();
    let duty = dir
        .organisations
        .iter()
        .find(|o| o.slug == state.referral_rules.duty_team)
        .map(|o| o.id);
    let retry = state.settings.outbox_retry_hours;

    let urgent = referral::Entity::find()
        .filter(unclaimed())
        .filter(referral::Column::Urgency.eq(service::URGENT))
        .filter(referral::Column::EscalatedAt.is_null())
        .filter(referral::Column::CreatedAt.lte(now - state.settings.escalate_urgent_after))
        .all(&state.db)
        .await?;
    for r in urgent {
        let txn = state.db.begin().await?;
        let marked = referral::Entity::update_many()
            .col_expr(referral::Column::EscalatedAt, Expr::value(now))
            .filter(referral::Column::Id.eq(r.id))
            .filter(referral::Column::EscalatedAt.is_null())
            .filter(unclaimed())
            .exec(&txn)
            .await?;
        if marked.rows_affected != 1 {
            txn.rollback().await?;
            continue;
        }
        outbox::enqueue(
            &txn,
            r.organisation_id,
            &[PURPOSE_ESCALATION],
            EVENT_ESCALATED,
            &r,
            now,
            retry,
        )
        .await?;
        if let Some(duty) = duty {
            let purposes: &[&str] = if duty == r.organisation_id {
                &[PURPOSE_NOTIFY]
            } else {
                &[PURPOSE_NOTIFY, PURPOSE_ESCALATION]
            };
            outbox::enqueue(&txn, duty, purposes, EVENT_ESCALATED, &r, now, retry).await?;
        }
        service::event(
            &txn,
            r.id,
            "escalated",
            None,
            Some(r.organisation_id),
            None,
            now,
        )
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
        txn.commit().await?;
        done.escalated += 1;
    }

    let days = state.settings.remind_routine_working_days;
    let routine = referral::Entity::find()
        .filter(unclaimed())
        .filter(referral::Column::Urgency.eq(service::ROUTINE))
        .filter(referral::Column::RemindedAt.is_null())
        // Working days are at least calendar days: a cheap first cut.
        .filter(referral::Column::CreatedAt.lte(now - Duration::days(i64::from(days))))
        .all(&state.db)
        .await?;
    for r in routine {
        if add_working_days(r.created_at, days) > now {
            continue;
        }
        let txn = state.db.begin().await?;
        let marked = referral::Entity::update_many()
            .col_expr(referral::Column::RemindedAt, Expr::value(now))
            .filter(referral::Column::Id.eq(r.id))
            .filter(referral::Column::RemindedAt.is_null())
            .filter(unclaimed())
            .exec(&txn)
            .await?;
        if marked.rows_affected != 1 {
            txn.rollback().await?;
            continue;
        }
        outbox::enqueue(
            &txn,
            r.organisation_id,
            &[PURPOSE_NOTIFY],
            EVENT_REMINDER,
            &r,
            now,
            retry,
        )
        .await?;
        service::event(
            &txn,
            r.id,
            "reminder",
            None,
            Some(r.organisation_id),
            None,
            now,
        )
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
        txn.commit().await?;
        done.reminded += 1;
    }
    if done.escalated + done.reminded > 0 {
        state.outbox_wake.notify_one();
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn working_days_skip_weekends() {
        // Friday 16 Jan 2026 10:00 GMT → Tuesday 20 Jan 10:00.
        assert_eq!(
            add_working_days(utc(2026, 1, 16, 10, 0), 2),
            utc(2026, 1, 20, 10, 0)
        );
        // Monday → Wednesday.
        assert_eq!(
            add_working_days(utc(2026, 1, 12, 9, 0), 2),
            utc(2026, 1, 14, 9, 0)
        );
        // Saturday counts from Monday 00:00 → Wednesday 00:00.
        assert_eq!(
            add_working_days(utc(2026, 1, 17, 15, 0), 2),
            utc(2026, 1, 21, 0, 0)
        );
        // In summer, local time is BST: Friday 10:00 BST (09:00 UTC) → Tuesday 10:00 BST.
        assert_eq!(
            add_working_days(utc(2026, 7, 17, 9, 0), 2),
            utc(2026, 7, 21, 9, 0)
        );
    }
}
