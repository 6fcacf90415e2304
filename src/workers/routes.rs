//! Youth workers' routes: sign in, the inbox, and acting on a referral.
use std::collections::HashMap;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::accounts;
use super::auth::SignedIn;
use super::inbox;
use super::model::{
    InboxItem, InboxMessage, InboxQuery, InboxReferral, Login, LoginAnswer, OrganisationBrief,
    SecondFactorNeeded, StatusChange, Transfer, WorkerMessage, WorkerRef, WorkerView,
};
use super::second_factor::{self, AfterPassword};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidatedJson, ValidatedQuery};
use crate::paging::{Page, PageQuery};
use crate::referrals::guard::Verdict;
use crate::referrals::routes::ClientKey;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(list_inbox))
        .routes(routes!(get_referral))
        .routes(routes!(claim))
        .routes(routes!(release))
        .routes(routes!(add_note))
        .routes(routes!(write))
        .routes(routes!(set_status))
        .routes(routes!(transfer))
}

fn parse_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::field("id", "must be a UUID"))
}

const BAD_LOGIN: &str = "That email and password do not match an active account.";

/// Sign in.
///
/// When `SIGNPOST_REQUIRE_2FA` asks a second factor of this worker (or they have set one
/// up), a right email and password alone get no token:
/// - set up, and no `code` sent: 401 with `type` `/problems/second-factor-required` and
///   `second_factor: "code"`; send the same request again with `code`;
/// - not set up yet: 403 with `type` `/problems/second-factor-setup-required`,
///   `second_factor: "setup"` and `setup_at: "/console"`: sign in there once to set it up.
///
/// A wrong code is a 401 (`/problems/unauthorized`); too many wrong codes for the account
/// (5 in 15 minutes, from anywhere) or from the client are a 429.
#[utoipa::path(post, path = "/v1/auth/login", tag = "workers",
    request_body = Login,
    responses(
        (status = 200, body = LoginAnswer),
        (status = 401, description = "Wrong email, password or code (`/problems/unauthorized`), or a code is needed (`/problems/second-factor-required`, with `second_factor: \"code\"`)", body = SecondFactorNeeded, content_type = "application/problem+json"),
        (status = 403, description = "The second factor must be set up in the console first (`/problems/second-factor-setup-required`)", body = SecondFactorNeeded, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    ValidatedJson(input): ValidatedJson<Login>,
) -> ApiResult<Response> {
    let guard = &state.guards.login_failures;
    if guard.count(&ip) >= state.settings.login_failures_allowed {
        return Err(ApiError::TooManyRequests {
            detail: "Too many failed sign-ins. Wait a while, then try again.".into(),
            retry_after_secs: state.guards.receipt_failures_window.as_secs(),
        });
    }
    let Some(worker) = accounts::authenticate(&state.db, &input.email, &input.password).await?
    else {
        if let Verdict::Refuse { .. } = guard.hit(&ip) {
            tracing::warn!("sign-in failures over the limit");
        }
        return Err(ApiError::Unauthorized(BAD_LOGIN.into()));
    };
    match second_factor::after_password(&state, &worker).await? {
        AfterPassword::Complete => {}
        AfterPassword::NeedEnrolment => return Ok(second_factor_setup_needed()),
        AfterPassword::NeedCode => {
            match input
                .code
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
            {
                None => return Ok(second_factor_code_needed()),
                Some(code) => second_factor::verify(&state, &worker, code, ip).await?,
            }
        }
    }
    let (token, expires_at) = accounts::start_session(
        &state.db,
        worker.id,
        state.settings.session_hours,
        state.clock.now(),
    )
    .await?;
    let dir = state.directory.load();
    let org_name = dir
        .organisations_by_id
        .get(&worker.organisation_id)
        .map(|&i| dir.organisations[i].name.clone())
        .unwrap_or_default();
    Ok(Json(LoginAnswer {
        token,
        expires_at,
        worker: WorkerView {
            id: worker.id,
            name: worker.name,
            role: worker.role,
            organisation: OrganisationBrief {
                id: worker.organisation_id,
                name: org_name,
            },
        },
    })
    .into_response())
}

fn second_factor_code_needed() -> Response {
    second_factor_problem(
        StatusCode::UNAUTHORIZED,
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "second-factor-required",
            "Enter your code",
            "Send the same email and password again with `code`: the 6-digit code from your authenticator app, or one of your recovery codes.",
        ),
        "code",
        None,
    )
}

fn second_factor_setup_needed() -> Response {
    second_factor_problem(
        StatusCode::FORBIDDEN,
        Problem::new(
            StatusCode::FORBIDDEN,
            "second-factor-setup-required",
            "Set up your second factor first",
            "Your account needs a second factor (an authenticator app) to sign in, and it is not set up yet. Sign in to the console at /console once to set it up, then sign in here with your code.",
        ),
        "setup",
        Some("/console"),
    )
}

fn second_factor_problem(
    status: StatusCode,
    problem: Problem,
    second_factor: &str,
    setup_at: Option<&str>,
) -> Response {
    let mut response = (
        status,
        Json(SecondFactorNeeded {
            problem,
            second_factor: second_factor.to_string(),
            setup_at: setup_at.map(str::to_string),
        }),
    )
        .into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Sign out: the token stops working.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "workers",
    security(("worker" = [])),
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn logout(State(state): State<AppState>, me: SignedIn) -> ApiResult<StatusCode> {
    accounts::revoke(&state.db, me.session.id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Referrals routed to your organisation: urgent first, then oldest first.
///
/// Filters combine: `status`, `urgency`, `need` (a need slug), `waiting=true` (open, and
/// the young person had the last word), `reference` (one referral by its reference, any
/// case). Each item's `unread` is true when the young person has written since you last
/// opened that referral.
#[utoipa::path(get, path = "/v1/inbox", tag = "workers",
    security(("worker" = [])),
    params(InboxQuery),
    responses(
        (status = 200, body = Page<InboxItem>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_inbox(
    State(state): State<AppState>,
    me: SignedIn,
    ValidatedQuery(q): ValidatedQuery<InboxQuery>,
) -> ApiResult<Json<Page<InboxItem>>> {
    if let Some(s) = q.status.as_deref().filter(|s| !inbox::is_status(s)) {
        return Err(ApiError::field("status", format!("unknown status {s:?}")));
    }
    if let Some(u) = q
        .urgency
        .as_deref()
        .filter(|u| !matches!(*u, "urgent" | "routine"))
    {
        return Err(ApiError::field(
            "urgency",
            format!("{u:?} is not urgent or routine"),
        ));
    }
    let need =
        match q.need.as_deref() {
            None => None,
            Some(raw) => Some(inbox::need_slug(&state, raw).ok_or_else(|| {
                ApiError::field("need", format!("{raw:?} is not one of the needs"))
            })?),
        };
    let reference = q.reference.as_deref().and_then(inbox::normalise_reference);
    let paging = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let filter = inbox::Filter {
        status: q.status.as_deref(),
        urgency: q.urgency.as_deref(),
        need,
        waiting: q.waiting.unwrap_or(false),
        reference: reference.as_deref(),
        ..inbox::Filter::default()
    };
    let (items, total) = inbox::list(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        &filter,
        paging.page(),
        paging.per_page(),
    )
    .await?;
    Ok(Json(Page::new(items, total, &paging)))
}

/// One referral in full, with its thread and audit trail.
#[utoipa::path(get, path = "/v1/inbox/{id}", tag = "workers",
    security(("worker" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = InboxReferral),
        (status = 404, description = "Not in your organisation's inbox", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_referral(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxReferral>> {
    let id = parse_id(&id)?;
    Ok(Json(
        inbox::detail(&state, me.worker.organisation_id, me.worker.id, id).await?,
    ))
}

/// Take a referral (409 if someone else has).
#[utoipa::path(post, path = "/v1/inbox/{id}/claim", tag = "workers",
    security(("worker" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = InboxItem),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn claim(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxItem>> {
    let id = parse_id(&id)?;
    inbox::claim(&state, me.worker.organisation_id, me.worker.id, id).await?;
    Ok(Json(
        inbox::summary(&state, me.worker.organisation_id, me.worker.id, id).await?,
    ))
}

/// A worker's reply or note as just written: 201 with the message.
fn written_by(
    me: &SignedIn,
    from: &str,
    m: &crate::entities::referral_message::Model,
    body: &str,
) -> (StatusCode, Json<InboxMessage>) {
    (
        StatusCode::CREATED,
        Json(InboxMessage {
            id: m.id,
            from: from.into(),
            worker: Some(WorkerRef {
                id: me.worker.id,
                name: me.worker.name.clone(),
            }),
            body: body.to_string(),
            sent_at: m.sent_at,
        }),
    )
}

/// Give a referral back to the team: its holder, or a coordinator or admin for anyone.
#[utoipa::path(post, path = "/v1/inbox/{id}/release", tag = "workers",
    security(("worker" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = InboxItem),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn release(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<InboxItem>> {
    let id = parse_id(&id)?;
    inbox::release(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        me.can_transfer(),
        id,
    )
    .await?;
    Ok(Json(
        inbox::summary(&state, me.worker.organisation_id, me.worker.id, id).await?,
    ))
}

/// Add a private note for the team: never shown to the young person.
#[utoipa::path(post, path = "/v1/inbox/{id}/notes", tag = "workers",
    security(("worker" = [])),
    params(("id" = String, Path)),
    request_body = WorkerMessage,
    responses(
        (status = 201, body = InboxMessage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_note(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    ValidatedJson(input): ValidatedJson<WorkerMessage>,
) -> ApiResult<(StatusCode, Json<InboxMessage>)> {
    let id = parse_id(&id)?;
    let body = input.body.trim();
    if body.is_empty() {
        return Err(ApiError::field("body", "must not be empty"));
    }
    let m = inbox::note(&state, me.worker.organisation_id, me.worker.id, id, body).await?;
    Ok(written_by(&me, "note", &m, body))
}

/// Write to the young person.
#[utoipa::path(post, path = "/v1/inbox/{id}/messages", tag = "workers",
    security(("worker" = [])),
    params(("id" = String, Path)),
    request_body = WorkerMessage,
    responses(
        (status = 201, body = InboxMessage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn write(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    ValidatedJson(input): ValidatedJson<WorkerMessage>,
) -> ApiResult<(StatusCode, Json<InboxMessage>)> {
    let id = parse_id(&id)?;
    let body = input.body.trim();
    if body.is_empty() {
        return Err(ApiError::field("body", "must not be empty"));
    }
    let m = inbox::write(&state, me.worker.organisation_id, me.worker.id, id, body).await?;
    Ok(written_by(&me, "youth_worker", &m, body))
}

/// Mark a referral in progress, or close it with an outcome.
#[utoipa::path(post, path = "/v1/inbox/{id}/status", tag = "workers",
    security(("worker" = [])),
    params(("id" = String, Path)),
    request_body = StatusChange,
    responses(
        (status = 200, body = InboxItem),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_status(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    ValidatedJson(input): ValidatedJson<StatusChange>,
) -> ApiResult<Json<InboxItem>> {
    let id = parse_id(&id)?;
    // One rule for the JSON inbox and the console: closing needs an outcome.
    let (status, outcome) = inbox::status_and_outcome(input.status, input.outcome)?;
    inbox::change_status(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        id,
        status,
        outcome,
        input.note.as_deref(),
    )
    .await?;
    Ok(Json(
        inbox::summary(&state, me.worker.organisation_id, me.worker.id, id).await?,
    ))
}

/// Pass a referral to another organisation (coordinators and admins).
#[utoipa::path(post, path = "/v1/inbox/{id}/transfer", tag = "workers",
    security(("worker" = [])),
    params(("id" = String, Path)),
    request_body = Transfer,
    responses(
        (status = 200, description = "Transferred", body = InboxItem),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn transfer(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    ValidatedJson(input): ValidatedJson<Transfer>,
) -> ApiResult<Json<InboxItem>> {
    let id = parse_id(&id)?;
    if !me.can_transfer() {
        return Err(ApiError::Forbidden(
            "only coordinators and admins can transfer a referral".into(),
        ));
    }
    let r = inbox::transfer(
        &state,
        me.worker.organisation_id,
        me.worker.id,
        id,
        input.organisation_id,
        &input.reason,
    )
    .await?;
    Ok(Json(inbox::item(&state, &r, &HashMap::new())))
}
