//! `POST /v1/services/{id}/reports` (anyone, anonymously) and the admin routes that list
//! and resolve reports.
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use validator::Validate;

use super::{NewReport, ReportReceived, ReportView, Scope};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidatedJson, ValidatedQuery};
use crate::paging::{Page, PageQuery};
use crate::referrals::guard::Verdict;
use crate::referrals::routes::ClientKey;
use crate::state::AppState;
use crate::workers::auth::SignedIn;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_service))
        .routes(routes!(list_reports))
        .routes(routes!(resolve_report))
}

/// Tell us a listing is wrong: closed, wrong details or times, or not safe. Anonymous.
#[utoipa::path(post, path = "/v1/services/{id}/reports", tag = "directory",
    params(("id" = String, Path, description = "The service's id")),
    request_body = NewReport,
    responses(
        (status = 202, description = "Kept for the people who keep the directory right", body = ReportReceived),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn report_service(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    Path(id): Path<String>,
    ValidatedJson(input): ValidatedJson<NewReport>,
) -> ApiResult<(StatusCode, Json<ReportReceived>)> {
    let (service_id, organisation_id) = {
        let dir = state.directory.load();
        Uuid::parse_str(id.trim())
            .ok()
            .and_then(|id| dir.by_id.get(&id).copied())
            .map(|i| {
                let s = &dir.services[i];
                (s.id, dir.organisations[s.organisation].id)
            })
            .ok_or_else(|| ApiError::NotFound("no listed service has this id".into()))?
    };
    for (verdict, detail) in [
        (
            state.guards.reports_per_client.hit(&ip),
            "You have sent a lot of reports. Thank you: please try again later.",
        ),
        (
            state.guards.reports_global.hit(&()),
            "We are very busy. Please try again shortly.",
        ),
    ] {
        if let Verdict::Refuse { retry_after } = verdict {
            return Err(ApiError::TooManyRequests {
                detail: detail.into(),
                retry_after_secs: retry_after.as_secs().max(1),
            });
        }
    }
    super::file(
        &state.db,
        &state.keys,
        service_id,
        organisation_id,
        &input,
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ReportReceived {
            status: "received".into(),
            message: "Thank you. We will check this listing.".into(),
        }),
    ))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `open` or `resolved`; both when absent.
    pub state: Option<String>,
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

/// Admins see every organisation's reports; coordinators their own organisation's.
fn scope(me: &SignedIn) -> ApiResult<Scope> {
    super::scope_for(&me.worker.role, me.worker.organisation_id).ok_or_else(|| {
        ApiError::Forbidden("only coordinators and admins see reports about listings".into())
    })
}

/// Reports of wrong listings, newest first.
#[utoipa::path(get, path = "/v1/admin/reports", tag = "directory",
    security(("worker" = [])),
    params(ReportQuery),
    responses(
        (status = 200, body = Page<ReportView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_reports(
    State(state): State<AppState>,
    me: SignedIn,
    ValidatedQuery(q): ValidatedQuery<ReportQuery>,
) -> ApiResult<Json<Page<ReportView>>> {
    let scope = scope(&me)?;
    if let Some(s) = q
        .state
        .as_deref()
        .filter(|s| !matches!(*s, "open" | "resolved"))
    {
        return Err(ApiError::field(
            "state",
            format!("{s:?} is not open or resolved"),
        ));
    }
    let paging = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let dir = state.directory.load();
    let page = super::list(
        &state.db,
        &state.keys,
        scope,
        q.state.as_deref(),
        &paging,
        |id| dir.by_id.get(&id).map(|&i| dir.services[i].name.clone()),
    )
    .await?;
    Ok(Json(page))
}

/// Mark a report dealt with.
#[utoipa::path(post, path = "/v1/admin/reports/{id}/resolve", tag = "directory",
    security(("worker" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Resolved"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn resolve_report(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let scope = scope(&me)?;
    let not_found = || ApiError::NotFound("no report of yours has this id".into());
    let id = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
    if super::resolve(&state.db, scope, id, me.worker.id, state.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
