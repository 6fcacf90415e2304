//! Notification figures (issue 4; see docs/PERFORMANCE.md). Runs its own webhook receiver
//! on 127.0.0.1, registers it with a coordinator's login, and measures:
//!
//! `notify_load latency URL EMAIL PASSWORD SECONDS RATE`
//!   referrals at RATE a second for SECONDS; time from each 201 (after the commit) to the
//!   webhook's arrival.
//! `notify_load drain URL EMAIL PASSWORD COUNT`
//!   creates COUNT referrals (their notifications wait: run the server with
//!   SIGNPOST_OUTBOX_WORKER=false), prints `ready`, then waits while a deliverer
//!   (`signpost worker`) drains them; prints notifications per second.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Router, body::Bytes, extract::State, routing::post};
use futures::StreamExt;
use serde_json::{Value, json};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(State(arrivals): State<Arrivals>, body: Bytes) -> &'static str {
    let now = Instant::now();
    if let Ok(v) = serde_json::from_slice::<Value>(&body)
        && let Some(r) = v["reference"].as_str()
        && let Ok(mut map) = arrivals.lock()
    {
        map.entry(r.to_string()).or_insert(now);
    }
    "ok"
}

async fn start_receiver() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), arrivals)
}

async fn login_and_register(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
    hook: &str,
) {
    let login: Value = client
        .post(format!("{url}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json");
    let token = login["token"].as_str().expect("token").to_string();
    let res = client
        .post(format!("{url}/v1/admin/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": hook, "purpose": "notify", "secret": "benchmark-secret-benchmark-secret-0123"}))
        .send()
        .await
        .expect("webhook");
    assert_eq!(res.status().as_u16(), 201, "registering the webhook");
}

async fn refer(client: &reqwest::Client, url: &str, i: usize) -> Option<String> {
    let res = client
        .post(format!("{url}/v1/referrals"))
        .json(&json!({"needs": ["other"], "message": format!("notify load {i}")}))
        .send()
        .await
        .ok()?;
    let v: Value = res.json().await.ok()?;
    v["reference"].as_str().map(str::to_string)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!(
            "usage: notify_load latency URL EMAIL PASSWORD SECONDS RATE | drain URL EMAIL PASSWORD COUNT"
        );
        std::process::exit(2);
    }
    let url = a[2].trim_end_matches('/').to_string();
    let client = reqwest::Client::new();
    let (hook, arrivals) = start_receiver().await;
    login_and_register(&client, &url, &a[3], &a[4], &hook).await;
    match a[1].as_str() {
        "latency" => {
            let seconds: u64 = a[5].parse().unwrap_or(10).min(120);
            let rate: u64 = a.get(6).and_then(|r| r.parse().ok()).unwrap_or(100).max(1);
            let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
            let mut tasks = Vec::new();
            let start = Instant::now();
            let total = (seconds * rate) as usize;
            for i in 0..total {
                let due = start + Duration::from_micros(i as u64 * 1_000_000 / rate);
                tokio::time::sleep_until(due.into()).await;
                let (c, u, s) = (client.clone(), url.clone(), sent.clone());
                tasks.push(tokio::spawn(async move {
                    if let Some(r) = refer(&c, &u, i).await
                        && let Ok(mut m) = s.lock()
                    {
                        m.insert(r, Instant::now());
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            let expected = sent.lock().map(|m| m.len()).unwrap_or(0);
            while arrivals.lock().map(|m| m.len()).unwrap_or(0) < expected
                && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let sent = sent.lock().expect("sent").clone();
            let arrived = arrivals.lock().expect("arrivals").clone();
            let mut lat: Vec<f64> = sent
                .iter()
                .filter_map(|(r, t)| {
                    arrived
                        .get(r)
                        .map(|a| a.saturating_duration_since(*t).as_secs_f64() * 1000.0)
                })
                .collect();
            lat.sort_by(f64::total_cmp);
            println!(
                "latency: referrals={} notified={} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
                sent.len(),
                lat.len(),
                pct(&lat, 0.5),
                pct(&lat, 0.9),
                pct(&lat, 0.99),
                pct(&lat, 1.0)
            );
        }
        "drain" => {
            let count: usize = a[5].parse().unwrap_or(5000);
            let mut made = 0;
            let mut tasks = futures::stream::iter(0..count)
                .map(|i| {
                    let (c, u) = (client.clone(), url.clone());
                    async move { refer(&c, &u, i).await.is_some() }
                })
                .buffer_unordered(32);
            while let Some(ok) = tasks.next().await {
                made += usize::from(ok);
            }
            println!("ready: {made} notifications waiting");
            let deadline = Instant::now() + Duration::from_secs(300);
            while arrivals.lock().map(|m| m.len()).unwrap_or(0) < made && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let arrived = arrivals.lock().expect("arrivals").clone();
            let times: Vec<Instant> = arrived.values().copied().collect();
            if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
                let secs = last.duration_since(*first).as_secs_f64().max(1e-3);
                println!(
                    "drain: delivered={} in {:.2}s = {:.0} notifications/s",
                    arrived.len(),
                    secs,
                    arrived.len() as f64 / secs
                );
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
