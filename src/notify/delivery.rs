//! Delivering the outbox: lease due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, so several
//! instances never take the same row; one writer on SQLite), POST each with reqwest, and
//! record the outcome. Failures back off exponentially with jitter until the row's retry
//! window ends; then it is marked dead and stays for a coordinator to retry.
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use rand::Rng;
use sea_orm::{
    ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType},
};
use uuid::Uuid;

use super::outbox::signature;
use crate::entities::{outbox, webhook_endpoint};
use crate::state::AppState;

/// Rows taken per lease.
const BATCH: u64 = 128;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 32;
/// How long a lease holds a row; a crashed deliverer's rows come back after it.
const LEASE_SECS: i64 = 120;
/// First retry delay, and the longest.
const BASE_DELAY_SECS: f64 = 10.0;
const MAX_DELAY_SECS: f64 = 1800.0;

/// The delay before retry `attempts` (1-based): exponential, capped, with jitter in
/// [50%, 100%] so that many failing rows do not retry in step.
pub fn backoff(attempts: i32, jitter: f64) -> Duration {
    let exp = BASE_DELAY_SECS * 2f64.powi(attempts.clamp(1, 30) - 1);
    let secs = exp.min(MAX_DELAY_SECS) * (0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    Duration::milliseconds((secs * 1000.0) as i64)
}

/// Leases due rows for `worker`.
async fn lease(
    state: &AppState,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Vec<outbox::Model>, sea_orm::DbErr> {
    // One statement: UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED]). No read
    // turns into a write halfway (which SQLite refuses when another writer got in first),
    // and on PostgreSQL concurrent deliverers skip each other's rows.
    let mut due = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::State.eq("pending"))
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(outbox::Column::LockedUntil.is_null())
                .add(outbox::Column::LockedUntil.lt(now)),
        )
        .order_by_asc(outbox::Column::NextAttemptAt)
        .order_by_asc(outbox::Column::Id)
        .limit(BATCH)
        .into_query();
    if state.db.get_database_backend() == DbBackend::Postgres {
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let leased = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(now + Duration::seconds(LEASE_SECS)),
        )
        .col_expr(outbox::Column::LockedBy, Expr::value(worker))
        .filter(outbox::Column::Id.in_subquery(due))
        .exec(&state.db)
        .await?;
    if leased.rows_affected == 0 {
        return Ok(Vec::new());
    }
    // A deliverer works one lease at a time, so its live leased rows are this lease.
    outbox::Entity::find()
        .filter(outbox::Column::LockedBy.eq(worker))
        .filter(outbox::Column::State.eq("pending"))
        .filter(outbox::Column::LockedUntil.gt(now))
        .order_by_asc(outbox::Column::NextAttemptAt)
        .all(&state.db)
        .await
}

enum Outcome {
    Delivered(u16),
    Failed(Option<u16>, String),
}

async fn post(
    state: &AppState,
    client: &reqwest::Client,
    row: &outbox::Model,
    endpoint: &webhook_endpoint::Model,
) -> Outcome {
    let secret = match state
        .keys
        .open(&endpoint.secret_sealed, endpoint.id.as_bytes())
    {
        Ok(s) => s,
        Err(_) => return Outcome::Failed(None, "endpoint secret cannot be read".into()),
    };
    let timestamp = state.clock.now().timestamp();
    let body = row.payload.as_bytes();
    let result = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("idempotency-key", row.id.to_string())
        .header("x-signpost-event", &row.event_type)
        .header("x-signpost-timestamp", timestamp.to_string())
        .header(
            "x-signpost-signature",
            signature(secret.as_bytes(), timestamp, body),
        )
        .body(row.payload.clone())
        .send()
        .await;
    match result {
        Ok(res) if res.status().is_success() => Outcome::Delivered(res.status().as_u16()),
        Ok(res) => Outcome::Failed(
            Some(res.status().as_u16()),
            format!("HTTP {}", res.status().as_u16()),
        ),
        // The error's kind only: reqwest's text can carry the URL.
        Err(e) if e.is_timeout() => Outcome::Failed(None, "timed out".into()),
        Err(e) if e.is_connect() => Outcome::Failed(None, "could not connect".into()),
        Err(_) => Outcome::Failed(None, "request failed".into()),
    }
}

/// Records an outcome, only while this worker still holds the lease.
async fn record<C: sea_orm::ConnectionTrait>(
    db: &C,
    state: &AppState,
    worker: &str,
    row: &outbox::Model,
    outcome: Outcome,
) -> Result<(), sea_orm::DbErr> {
    let now = state.clock.now();
    let mut update = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LockedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(outbox::Column::Attempts, Expr::value(row.attempts + 1));
    match &outcome {
        Outcome::Delivered(status) => {
            update = update
                .col_expr(outbox::Column::State, Expr::value("delivered"))
                .col_expr(outbox::Column::DeliveredAt, Expr::value(now))
                .col_expr(outbox::Column::LastStatus, Expr::value(i32::from(*status)))
                .col_expr(
                    outbox::Column::LastError,
                    Expr::value(Option::<String>::None),
                );
            state.metrics.delivered.fetch_add(1, Ordering::Relaxed);
        }
        Outcome::Failed(status, error) => {
            let dead = now >= row.retry_until;
            let jitter: f64 = rand::rng().random();
            update = update
                .col_expr(
                    outbox::Column::State,
                    Expr::value(if dead { "dead" } else { "pending" }),
                )
                .col_expr(
                    outbox::Column::NextAttemptAt,
                    Expr::value(now + backoff(row.attempts + 1, jitter)),
                )
                .col_expr(
                    outbox::Column::LastStatus,
                    Expr::value(status.map(i32::from)),
                )
                .col_expr(outbox::Column::LastError, Expr::value(error.clone()));
            let counter = if dead {
                &state.metrics.dead
            } else {
                &state.metrics.failed
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if dead {
                tracing::warn!(notification = %row.id, "notification could not be delivered in its retry window; marked dead");
            }
        }
    }
    update
        .filter(outbox::Column::Id.eq(row.id))
        .filter(outbox::Column::LockedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// Delivers everything due now; returns how many rows were attempted.
pub async fn deliver_due(
    state: &AppState,
    client: &reqwest::Client,
    worker: &str,
) -> Result<usize, sea_orm::DbErr> {
    let mut total = 0;
    loop {
        let rows = lease(state, worker, state.clock.now()).await?;
        if rows.is_empty() {
            return Ok(total);
        }
        total += rows.len();
        let endpoint_ids: Vec<Uuid> = rows.iter().map(|r| r.endpoint_id).collect();
        let endpoints: std::collections::HashMap<Uuid, webhook_endpoint::Model> =
            webhook_endpoint::Entity::find()
                .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
                .all(&state.db)
                .await?
                .into_iter()
                .map(|e| (e.id, e))
                .collect();
        let results: Vec<(outbox::Model, Outcome)> = futures::stream::iter(rows)
            .map(|row| {
                let endpoint = endpoints.get(&row.endpoint_id).cloned();
                async move {
                    let outcome = match endpoint {
                        Some(e) => post(state, client, &row, &e).await,
                        None => Outcome::Failed(None, "endpoint removed".into()),
                    };
                    (row, outcome)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        // One commit for the batch's outcomes, not one each.
        let txn = state.db.begin().await?;
        for (row, outcome) in results {
            record(&txn, state, worker, &row, outcome).await?;
        }
        txn.commit().await?;
    }
}

pub fn client(state: &AppState) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(state.settings.webhook_timeout)
        .user_agent(concat!(
            "signpost/",
            env!("CARGO_PKG_VERSION"),
            " (notifications)"
        ))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Runs until the task is dropped: wakes on new rows or every poll interval.
pub async fn run(state: AppState) {
    let worker = format!("deliverer-{}", Uuid::now_v7());
    let client = client(&state);
    loop {
        if let Err(err) = deliver_due(&state, &client, &worker).await {
            tracing::warn!(error = %err, "notification delivery pass failed");
        }
        let poll = state.settings.outbox_poll;
        tokio::select! {
            () = state.outbox_wake.notified() => {},
            () = tokio::time::sleep(poll.max(StdDuration::from_millis(10))) => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff(1, 1.0), Duration::seconds(10));
        assert_eq!(backoff(2, 1.0), Duration::seconds(20));
        assert_eq!(backoff(1, 0.0), Duration::seconds(5));
        assert_eq!(backoff(20, 1.0), Duration::seconds(1800));
        assert!(backoff(3, 0.3) < backoff(3, 0.9));
    }
}
