//! Reports of wrong listings: anyone using the app can say a service is closed, its
//! details are wrong, or it does not feel safe, without giving a name. Admins see every
//! report; a coordinator sees those about their own organisation's services.
pub mod routes;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::crypto::Keys;
use crate::entities::service_report;
use crate::error::{ApiError, ApiResult};
use crate::paging::{Page, PageQuery};

/// Why a listing is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// It has closed or stopped running.
    Closed,
    /// Phone, email, address or website is wrong.
    WrongDetails,
    /// Opening times are wrong.
    WrongTimes,
    /// Ages, cost or who it is for are wrong.
    WrongEligibility,
    /// It does not feel safe.
    Unsafe,
    Other,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::WrongDetails => "wrong_details",
            Self::WrongTimes => "wrong_times",
            Self::WrongEligibility => "wrong_eligibility",
            Self::Unsafe => "unsafe",
            Self::Other => "other",
        }
    }
}

pub const MAX_DETAILS_CHARS: u64 = 1000;

/// `POST /v1/services/{id}/reports`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct NewReport {
    pub reason: Reason,
    /// What is wrong, in your words (optional, at most 1000 characters). Please don't put
    /// your name or contact details here.
    #[validate(length(max = 1000))]
    pub details: Option<String>,
}

/// `202` to a report: it is kept for the people who keep the directory right.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportReceived {
    pub status: String,
    pub message: String,
}

/// A report as a coordinator or admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub service_id: Uuid,
    pub service_name: Option<String>,
    pub organisation_id: Uuid,
    /// `closed`, `wrong_details`, `wrong_times`, `wrong_eligibility`, `unsafe` or `other`.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// `open` or `resolved`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Keeps a report. `details` is sealed like every free text a young person writes.
pub async fn file(
    db: &DatabaseConnection,
    keys: &Keys,
    service_id: Uuid,
    organisation_id: Uuid,
    input: &NewReport,
    now: DateTime<Utc>,
) -> ApiResult<Uuid> {
    let id = Uuid::now_v7();
    let details = input
        .details
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| keys.seal(d, id.as_bytes()));
    service_report::ActiveModel {
        id: Set(id),
        service_id: Set(service_id),
        organisation_id: Set(organisation_id),
        reason: Set(input.reason.as_str().to_string()),
        details_sealed: Set(details),
        state: Set("open".into()),
        created_at: Set(now),
        resolved_at: Set(None),
        resolved_by: Set(None),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// Who may see which reports: `None` = every organisation's.
pub type Scope = Option<Uuid>;

/// The one rule for who sees and resolves reports, for the JSON routes and the console
/// alike: admins every organisation's, coordinators their own organisation's. `None`: not
/// allowed (a youth worker).
pub fn scope_for(role: &str, organisation_id: Uuid) -> Option<Scope> {
    match role {
        "admin" => Some(None),
        "coordinator" => Some(Some(organisation_id)),
        _ => None,
    }
}

pub async fn list(
    db: &DatabaseConnection,
    keys: &Keys,
    scope: Scope,
    state: Option<&str>,
    paging: &PageQuery,
    service_name: impl Fn(Uuid) -> Option<String>,
) -> ApiResult<Page<ReportView>> {
    let mut q = service_report::Entity::find();
    if let Some(org) = scope {
        q = q.filter(service_report::Column::OrganisationId.eq(org));
    }
    if let Some(s) = state {
        q = q.filter(service_report::Column::State.eq(s));
    }
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(service_report::Column::CreatedAt)
        .order_by_desc(service_report::Column::Id)
        .offset(paging.offset() as u64)
        .limit(u64::from(paging.per_page()))
        .all(db)
        .await?;
    let items =
        rows.into_iter()
            .map(|r| {
                let details = match &r.details_sealed {
                    Some(sealed) => Some(keys.open(sealed, r.id.as_bytes()).map_err(|e| {
                        ApiError::Internal(anyhow::anyhow!("report {}: {e}", r.id))
                    })?),
                    None => None,
                };
                Ok(ReportView {
                    id: r.id,
                    service_name: service_name(r.service_id),
                    service_id: r.service_id,
                    organisation_id: r.organisation_id,
                    reason: r.reason,
                    details,
                    state: r.state,
                    created_at: r.created_at,
                    resolved_at: r.resolved_at,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::new(items, total, paging))
}

/// Marks a report dealt with. `false` when no report in `scope` has this id.
pub async fn resolve(
    db: &DatabaseConnection,
    scope: Scope,
    id: Uuid,
    by: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let mut q = service_report::Entity::update_many()
        .col_expr(service_report::Column::State, Expr::value("resolved"))
        .col_expr(service_report::Column::ResolvedAt, Expr::value(now))
        .col_expr(service_report::Column::ResolvedBy, Expr::value(by))
        .filter(service_report::Column::Id.eq(id));
    if let Some(org) = scope {
        q = q.filter(service_report::Column::OrganisationId.eq(org));
    }
    Ok(q.exec(db).await?.rows_affected == 1)
}

/// Erases resolved reports once the retention period has passed.
pub async fn purge_resolved(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(service_report::Entity::delete_many()
        .filter(service_report::Column::State.eq("resolved"))
        .filter(service_report::Column::ResolvedAt.lte(before))
        .exec(db)
        .await?
        .rows_affected)
}
