//! Young person's routes: make a referral, come back with the receipt, talk, withdraw.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::{
    Json,
    extract::{ConnectInfo, FromRequestParts, State},
    http::{StatusCode, header, request::Parts},
};
use chrono::Duration as ChronoDuration;
use sea_orm::TransactionTrait;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::guard::Verdict;
use super::model::{
    NeedView, NewMessage, NewReferral, OwnReferral, ReferralReceipt, RoutedTo, ThreadMessage,
};
use super::service::{self, ROUTINE_RESPONSE_HOURS, URGENT, URGENT_RESPONSE_HOURS};
use crate::entities::referral;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ValidatedJson;
use crate::help;
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

fn routed_to(state: &AppState, r: &referral::Model) -> RoutedTo {
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
#[utoipa::path(post, path = "/v1/referrals", tag = "referrals",
    request_body = NewReferral,
    responses(
        (status = 201, description = "Received. The receipt is shown once and cannot be recovered.", body = ReferralReceipt),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_referral(
    State(state): State<AppState>,
    ClientKey(ip): ClientKey,
    ValidatedJson(input): ValidatedJson<NewReferral>,
) -> ApiResult<(StatusCode, Json<ReferralReceipt>)> {
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
    let created = service::create(&state, input).await?;
    let urgent = created.referral.urgency == URGENT;
    Ok((
        StatusCode::CREATED,
        Json(ReferralReceipt {
            reference: created.referral.reference.clone(),
            receipt: created.receipt.display(),
            status: "received".into(),
            urgency: created.referral.urgency.clone(),
            routed_to: RoutedTo {
                slug: created.organisation_slug,
                name: created.organisation_name,
            },
            respond_within_hours: if urgent {
                URGENT_RESPONSE_HOURS
            } else {
                ROUTINE_RESPONSE_HOURS
            },
            help: help::ordered(&state.catalogue.load().help, urgent),
        }),
    ))
}

/// Your referral and its conversation.
#[utoipa::path(get, path = "/v1/referrals/self", tag = "referrals",
    security(("receipt" = [])),
    responses(
        (status = 200, body = OwnReferral),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn own_referral(
    State(state): State<AppState>,
    ByReceipt(r): ByReceipt,
) -> ApiResult<Json<OwnReferral>> {
    let messages = service::thread_for_young_person(&state.db, &state.keys, &r).await?;
    let urgent = r.urgency == URGENT;
    Ok(Json(OwnReferral {
        reference: r.reference.clone(),
        status: r.status.clone(),
        urgency: r.urgency.clone(),
        created_at: r.created_at,
        routed_to: routed_to(&state, &r),
        messages,
        help: help::ordered(&state.catalogue.load().help, urgent),
    }))
}

/// Write to your youth worker.
#[utoipa::path(post, path = "/v1/referrals/self/messages", tag = "referrals",
    security(("receipt" = [])),
    request_body = NewMessage,
    responses(
        (status = 201, body = ThreadMessage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The conversation is closed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many messages today", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_message(
    State(state): State<AppState>,
    ByReceipt(r): ByReceipt,
    ValidatedJson(input): ValidatedJson<NewMessage>,
) -> ApiResult<(StatusCode, Json<ThreadMessage>)> {
    let body = input.body.trim();
    if body.is_empty() {
        return Err(ApiError::field("body", "must not be empty"));
    }
    if !service::is_open(&r.status) {
        return Err(ApiError::Conflict(
            "This conversation is closed. You can make a new referral at any time.".into(),
        ));
    }
    let now = state.clock.now();
    let sent_today =
        service::young_person_messages_since(&state.db, r.id, now - ChronoDuration::hours(24))
            .await?;
    if sent_today >= u64::from(state.settings.messages_per_day) {
        return Err(too_many(
            Duration::from_secs(3600),
            "You have sent a lot of messages today. Your youth worker will read them. If you are in danger now, call 999.",
        ));
    }
    let txn = state.db.begin().await?;
    let m = service::add_message(
        &txn,
        &state.keys,
        &r,
        service::SENDER_YOUNG_PERSON,
        None,
        body,
        now,
    )
    .await?;
    service::event(&txn, r.id, "young_person_message", None, None, None, now).await?;
    crate::notify::outbox::enqueue(
        &txn,
        r.organisation_id,
        &[crate::notify::outbox::PURPOSE_NOTIFY],
        crate::notify::outbox::EVENT_MESSAGE,
        &r,
        now,
        state.settings.outbox_retry_hours,
    )
    .await?;
    txn.commit().await?;
    state.outbox_wake.notify_one();
    Ok((
        StatusCode::CREATED,
        Json(ThreadMessage {
            id: m.id,
            from: "you".into(),
            worker_name: None,
            body: body.to_string(),
            sent_at: m.sent_at,
        }),
    ))
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
