//! A coordinator's view of their team: each worker's open caseload and how much of it is
//! overdue, the urgent referrals nobody has taken, the routine ones past their promised
//! answer, claiming on a worker's behalf, and where a referral can be moved to. Counted
//! in the database (grouped), so the page costs the same with 10 referrals or 10,000.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::entities::{referral, worker};
use crate::error::{ApiError, ApiResult};
use crate::referrals::service;
use crate::state::AppState;

/// How many referrals each list on the team page shows at most; the inbox has the rest.
pub const LIST_LIMIT: u64 = 50;

/// One worker's share of the open referrals.
#[derive(Debug, Clone)]
pub struct Caseload {
    pub worker_id: Uuid,
    pub name: String,
    pub role: String,
    /// Open referrals they hold.
    pub open: u64,
    /// Of those, how many are past the answer the young person was promised.
    pub overdue: u64,
}

/// The team at a glance.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Every active account, most open referrals first.
    pub caseloads: Vec<Caseload>,
    /// Urgent referrals nobody has taken, oldest first.
    pub unclaimed_urgent: Vec<referral::Model>,
    pub unclaimed_urgent_total: u64,
    /// Routine referrals past their promised answer and not yet in progress, oldest first.
    pub overdue_routine: Vec<referral::Model>,
    pub overdue_routine_total: u64,
}

/// Open and still waiting for a first answer: the state in which a due time applies (the
/// inbox's clock stops once a referral is in progress).
fn awaiting_answer() -> Condition {
    Condition::all()
        .add(referral::Column::Status.is_not_in(["closed", "withdrawn", "in_progress"]))
        .add(referral::Column::ErasedAt.is_null())
}

fn open() -> Condition {
    Condition::all()
        .add(referral::Column::Status.is_not_in(["closed", "withdrawn"]))
        .add(referral::Column::ErasedAt.is_null())
}

/// Past the answer promised: urgent after 2 h, routine after 48 h (the same hours the
/// young person is told, [`service::respond_within_hours`]).
fn overdue_at(now: DateTime<Utc>) -> Condition {
    let cutoff =
        |urgent: bool| now - Duration::hours(i64::from(service::respond_within_hours(urgent)));
    Condition::any()
        .add(
            Condition::all()
                .add(referral::Column::Urgency.eq(service::URGENT))
                .add(referral::Column::CreatedAt.lt(cutoff(true))),
        )
        .add(
            Condition::all()
                .add(referral::Column::Urgency.ne(service::URGENT))
                .add(referral::Column::CreatedAt.lt(cutoff(false))),
        )
}

async fn counts_by_holder(
    state: &AppState,
    organisation: Uuid,
    filter: Condition,
) -> ApiResult<HashMap<Uuid, u64>> {
    let rows: Vec<(Option<Uuid>, i64)> = referral::Entity::find()
        .select_only()
        .column(referral::Column::ClaimedBy)
        .column_as(referral::Column::Id.count(), "n")
        .filter(referral::Column::OrganisationId.eq(organisation))
        .filter(referral::Column::ClaimedBy.is_not_null())
        .filter(filter)
        .group_by(referral::Column::ClaimedBy)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(w, n)| w.map(|w| (w, u64::try_from(n).unwrap_or(0))))
        .collect())
}

async fn count(state: &AppState, organisation: Uuid, filter: Condition) -> ApiResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(referral::Entity::find()
        .filter(referral::Column::OrganisationId.eq(organisation))
        .filter(filter)
        .count(&state.db)
        .await?)
}

async fn oldest(
    state: &AppState,
    organisation: Uuid,
    filter: Condition,
) -> ApiResult<Vec<referral::Model>> {
    Ok(referral::Entity::find()
        .filter(referral::Column::OrganisationId.eq(organisation))
        .filter(filter)
        .order_by_asc(referral::Column::CreatedAt)
        .order_by_asc(referral::Column::Id)
        .limit(LIST_LIMIT)
        .all(&state.db)
        .await?)
}

/// The organisation's active accounts, by name.
pub async fn members(state: &AppState, organisation: Uuid) -> ApiResult<Vec<worker::Model>> {
    Ok(worker::Entity::find()
        .filter(worker::Column::OrganisationId.eq(organisation))
        .filter(worker::Column::Active.eq(true))
        .order_by_asc(worker::Column::Name)
        .order_by_asc(worker::Column::Id)
        .all(&state.db)
        .await?)
}

pub async fn overview(state: &AppState, organisation: Uuid) -> ApiResult<Overview> {
    let now = state.clock.now();
    let open_by = counts_by_holder(state, organisation, open()).await?;
    let overdue_by =
        counts_by_holder(state, organisation, awaiting_answer().add(overdue_at(now))).await?;
    let mut caseloads: Vec<Caseload> = members(state, organisation)
        .await?
        .into_iter()
        .map(|w| Caseload {
            open: open_by.get(&w.id).copied().unwrap_or(0),
            overdue: overdue_by.get(&w.id).copied().unwrap_or(0),
            worker_id: w.id,
            name: w.name,
            role: w.role,
        })
        .collect();
    // Stable: by load, then by name as `members` gave them.
    caseloads.sort_by_key(|c| std::cmp::Reverse(c.open));

    let unclaimed_urgent_filter = || {
        open()
            .add(referral::Column::Urgency.eq(service::URGENT))
            .add(referral::Column::ClaimedBy.is_null())
    };
    let overdue_routine_filter = || {
        awaiting_answer()
            .add(referral::Column::Urgency.ne(service::URGENT))
            .add(overdue_at(now))
    };
    Ok(Overview {
        caseloads,
        unclaimed_urgent: oldest(state, organisation, unclaimed_urgent_filter()).await?,
        unclaimed_urgent_total: count(state, organisation, unclaimed_urgent_filter()).await?,
        overdue_routine: oldest(state, organisation, overdue_routine_filter()).await?,
        overdue_routine_total: count(state, organisation, overdue_routine_filter()).await?,
    })
}

/// A coordinator gives an unclaimed referral to one of their team. As with a worker's own
/// claim, only one claim can win: the update applies only while nobody holds it. The
/// timeline records both who now holds it and who gave it to them.
pub async fn claim_for(
    state: &AppState,
    organisation: Uuid,
    coordinator: Uuid,
    holder: Uuid,
    id: Uuid,
) -> ApiResult<referral::Model> {
    let target = worker::Entity::find_by_id(holder)
        .filter(worker::Column::OrganisationId.eq(organisation))
        .filter(worker::Column::Active.eq(true))
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            ApiError::field("worker_id", "no active account in your team has this id")
        })?;
    let r = super::inbox::find(&state.db, organisation, id).await?;
    if !service::is_open(&r.status) {
        return Err(ApiError::Conflict("this referral is closed".into()));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let updated = referral::Entity::update_many()
        .col_expr(referral::Column::ClaimedBy, Expr::value(target.id))
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
            "someone in your team has already taken this referral".into(),
        ));
    }
    service::event(
        &txn,
        id,
        "claimed",
        Some(target.id),
        Some(organisation),
        None,
        now,
    )
    .await?;
    service::event(
        &txn,
        id,
        "claimed_for",
        Some(coordinator),
        Some(organisation),
        Some(target.name.clone()),
        now,
    )
    .await?;
    txn.commit().await?;
    super::inbox::find(&state.db, organisation, id).await
}

/// Where a referral can be moved: every other active organisation with at least one
/// active account (the same test [`super::inbox::transfer`] applies), by name.
pub async fn transfer_targets(
    state: &AppState,
    organisation: Uuid,
) -> ApiResult<Vec<(Uuid, String)>> {
    let staffed: Vec<Uuid> = worker::Entity::find()
        .select_only()
        .column(worker::Column::OrganisationId)
        .filter(worker::Column::Active.eq(true))
        .distinct()
        .into_tuple()
        .all(&state.db)
        .await?;
    let dir = state.directory.load();
    let mut targets: Vec<(Uuid, String)> = staffed
        .into_iter()
        .filter(|o| *o != organisation)
        .filter_map(|o| {
            dir.organisations_by_id
                .get(&o)
                .map(|&i| (o, dir.organisations[i].name.clone()))
        })
        .collect();
    targets.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(targets)
}
