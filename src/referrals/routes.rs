//! Young person's routes: make a referral, come back with the receipt, talk, withdraw.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::{
    Json,
    extract::{ConnectInfo, FromRequestParts, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::guard::Verdict;
use super::idempotency::{self, Answer, Claim, MaybeIdempotencyKey};
use super::model::{
    NeedView, NewMessage, NewReceipt, NewReferral, OwnReferral, ReferralReceipt, ThreadMessage,
};
use super::service;
use crate::entities::referral;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ValidatedJson;
use crate::http_cache;
use crate::state::AppState;

/// The one answer for any receipt that does not open a referral.
const BAD_RECEIPT: &str = "This receipt does not open a referral. Check it and try again.";

pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_needs))
}

pub fn private_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_referral))
        .routes(routes!(own_referral, withdraw_referral))
        .routes(routes!(replace_receipt))
        .routes(routes!(send_message))
}

/// The client's address, for in-memory throttling only: never logged, stored or echoed.
pub struct ClientKey(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(Self(ip))
    }
}

fn too_many(retry_after: Duration, detail: &str) -> ApiError {
    ApiError::TooManyRequests {
        detail: detail.into(),
        retry_after_secs: retry_after.as_secs().max(1),
    }
}

/// A referral opened by `Authorization: Bearer <receipt>`.
pub struct ByReceipt(pub referral::Model);

impl FromRequestParts<AppState> for ByReceipt {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientKey(ip) = ClientKey::from_request_parts(parts, state).await?;
        let guards = &state.guards;
        // Past the limit: refused without even looking.
        if guards.receipt_failures.count(&ip) >= state.settings.receipt_failures_allowed {
            return Err(too_many(
                guards.receipt_failures_window,
                "Too many tries. Wait a while, then try again.",
            ));
        }
        let raw = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        match service::find_by_receipt(&state.db, &state.keys, raw).await? {
            Some(r) => Ok(Self(r)),
            None => {
                let failures = match guards.receipt_failures.hit(&ip) {
                    Verdict::Allow { count } => count,
                    Verdict::Refuse { .. } => state.settings.receipt_failures_allowed,
                };
                // After a few failures each further one is slower to answer.
                let after = state.settings.receipt_slowdown_after;
                if failures > after {
                    let ms = (u64::from(failures - after) * 250).min(2000);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Err(ApiError::Unauthorized(BAD_RECEIPT.into()))
            }
        }
    }
}

/// The needs a referral can name.
#[utoipa::path(get, path = "/v1/referrals/needs", tag = "referrals",
    responses((status = 200, body = Vec<NeedView>)))]
async fn list_needs(State(state): State<AppState>) -> Json<Vec<NeedView>> {
    Json(
        state
            .referral_rules
            .needs
            .iter()
            .map(|n| NeedView {
                slug: n.slug.clone(),
                name: n.name.clone(),
                description: n.description.clone(),
            })
            .collect(),
    )
}

/// Ask for help without giving a name.
///
/// Send an `Idempotency-Key` (a fresh UUID per request): a retry with the same key within
/// 24 hours answers the same referral and the same receipt, and makes nothing new.
#[utoipa::path(post, path = "/v1/referrals", tag = "referrals",
    request_body = NewReferral,
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key gets the same answer")),
    responses(
        (status = 201, description = "Received. The receipt is shown once and cannot be recovered; a retry with the same Idempotency-Key answers it again, with `Idempotent-Replayed: true`.", body = ReferralReceipt),
        (status = 409, description = "A request with the same Idempotency-Key is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_referral(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    MaybeIdempotencyKey(key): MaybeIdempotencyKey,
    ValidatedJson(input): ValidatedJson<NewReferral>,
) -> ApiResult<Response> {
    let claim = key.map(|k| Claim::new("referral", k, &input));
    // A retry on a weak signal is answered before any limit: it makes nothing new.
    if let Some(claim) = &claim
        && let Some(replay) =
            idempotency::find(&state.db, &state.keys, claim, state.clock.now()).await?
    {
        return Ok(replay.into_response());
    }
    if let Verdict::Refuse { retry_after } = state.guards.referrals_per_client.hit(&ip) {
        return Err(too_many(
            retry_after,
            "You have sent a lot of requests. If you are in danger now, call 999.",
        ));
    }
    if let Verdict::Refuse { retry_after } = state.guards.referrals_global.hit(&()) {
        return Err(too_many(
            retry_after,
            "We are very busy. Please try again shortly. If you are in danger now, call 999.",
        ));
    }
    Ok(match service::create(&state, input, claim).await? {
        Answer::Fresh(answer) => (StatusCode::CREATED, Json(answer)).into_response(),
        Answer::Replayed(replay) => replay.into_response(),
    })
}

/// Your referral and its conversation.
///
/// Sends an `ETag`; ask again with `If-None-Match` and an unchanged thread answers 304
/// with no body, which is cheap on a weak signal. Opening a thread with a reply in it
/// records when you saw it (the time only), so your youth worker knows you read it.
#[utoipa::path(get, path = "/v1/referrals/self", tag = "referrals",
    security(("receipt" = [])),
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of the answer you have")),
    responses(
        (status = 200, body = OwnReferral, headers(("ETag" = String, description = "Changes whenever the answer does"))),
        (status = 304, description = "Nothing has changed since the ETag you sent"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn own_referral(
    State(state): State<AppState>,
    ByReceipt(r): ByReceipt,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let view = service::own_view(&state, &r).await?;
    let body = serde_json::to_vec(&view)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("serialising a referral: {e}")))?;
    let etag = http_cache::etag_for(&body);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| http_cache::matches_etag(v, &etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    if view.unread > 0 {
        service::mark_seen(&state.db, r.id, state.clock.now()).await?;
    }
    Ok((
        StatusCode::OK,
        [
            (header::ETAG, etag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response())
}

/// Replace your receipt, if someone else may have seen it.
///
/// Answers a new receipt, shown once. The old one stops working at once and gets the same
/// 401 as any unknown receipt.
#[utoipa::path(post, path = "/v1/referrals/self/receipt", tag = "referrals",
    security(("receipt" = [])),
    responses(
        (status = 200, body = NewReceipt),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_receipt(
    State(state): State<AppState>,
    ByReceipt(r): ByReceipt,
) -> ApiResult<Json<NewReceipt>> {
    match service::replace_receipt(&state, &r).await? {
        Some(receipt) => Ok(Json(NewReceipt {
            receipt: receipt.display(),
        })),
        // Replaced or withdrawn a moment ago by another request: this receipt is gone.
        None => Err(ApiError::Unauthorized(BAD_RECEIPT.into())),
    }
}

/// Write to your youth worker.
///
/// Send an `Idempotency-Key`: a retry with the same key answers the same message and
/// adds nothing.
#[utoipa::path(post, path = "/v1/referrals/self/messages", tag = "referrals",
    security(("receipt" = [])),
    request_body = NewMessage,
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key gets the same answer")),
    responses(
        (status = 201, body = ThreadMessage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The conversation is closed, or a request with the same Idempotency-Key is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many messages today", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_message(
    State(state): State<AppState>,
    ByReceipt(r): ByReceipt,
    MaybeIdempotencyKey(key): MaybeIdempotencyKey,
    ValidatedJson(input): ValidatedJson<NewMessage>,
) -> ApiResult<Response> {
    let body = input.body.trim();
    if body.is_empty() {
        return Err(ApiError::field("body", "must not be empty"));
    }
    let claim = key.map(|k| Claim::new(format!("message:{}", r.id), k, &input));
    Ok(
        match service::young_person_writes(&state, &r, body, claim).await? {
            Answer::Fresh(m) => (StatusCode::CREATED, Json(m)).into_response(),
            Answer::Replayed(replay) => replay.into_response(),
        },
    )
}

/// Withdraw your referral and erase what you wrote.
#[utoipa::path(delete, path = "/v1/referrals/self", tag = "referrals",
    security(("receipt" = [])),
    responses(
        (status = 204, description = "Withdrawn and erased"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn withdraw_referral(
    State(state): State<AppState>,
    ByReceipt(r): ByReceipt,
) -> ApiResult<StatusCode> {
    service::withdraw(&state.db, r, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
