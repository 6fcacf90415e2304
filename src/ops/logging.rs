//! Request logs that can never identify a young person: method, route template, status
//! and latency. No query string (it may hold a postcode), no IP address, no User-Agent.
use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

pub async fn log_requests(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    tracing::info!(
        target: "signpost::http",
        %method,
        route,
        status = response.status().as_u16(),
        ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
