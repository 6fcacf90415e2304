//! Load generator for self-referrals (issue 3's figures; see docs/PERFORMANCE.md).
//!
//! `cargo run --release --example referral_load -- create URL CLIENTS SECONDS`
//!   posts referrals from CLIENTS concurrent clients for SECONDS; prints how many were
//!   acknowledged (201), requests/s and latency percentiles.
//! `cargo run --release --example referral_load -- receipts URL CLIENTS SECONDS`
//!   times `GET /v1/referrals/self` with valid, unknown and malformed receipts.
//!
//! Sends traffic only to the URL given (use 127.0.0.1). Bounded in time.
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Mutex;

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    by_status: std::collections::BTreeMap<u16, u64>,
    errors: u64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn report(label: &str, tally: &Tally, elapsed: Duration) {
    let mut l = tally.latencies_us.clone();
    l.sort_unstable();
    let n = l.len() as f64;
    println!(
        "{label}: requests={} rps={:.0} statuses={:?} errors={} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        l.len(),
        n / elapsed.as_secs_f64(),
        tally.by_status,
        tally.errors,
        percentile(&l, 0.50),
        percentile(&l, 0.90),
        percentile(&l, 0.99),
        percentile(&l, 1.0),
    );
}

async fn run<F, Fut>(clients: usize, seconds: u64, make: F) -> (Tally, Duration)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u16, reqwest::Error>> + Send,
{
    let tally = Arc::new(Mutex::new(Tally::default()));
    let make = Arc::new(make);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let tally = tally.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut local = Tally::default();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match make(c, i).await {
                    Ok(status) => {
                        local.latencies_us.push(t.elapsed().as_micros() as u64);
                        *local.by_status.entry(status).or_default() += 1;
                    }
                    Err(_) => local.errors += 1,
                }
                i += 1;
            }
            let mut all = tally.lock().await;
            all.latencies_us.extend(local.latencies_us);
            for (k, v) in local.by_status {
                *all.by_status.entry(k).or_default() += v;
            }
            all.errors += local.errors;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let tally = Arc::try_unwrap(tally)
        .map(Mutex::into_inner)
        .unwrap_or_default();
    (tally, elapsed)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: referral_load create|receipts URL CLIENTS SECONDS");
        std::process::exit(2);
    }
    let (mode, url, clients, seconds) = (
        args[1].clone(),
        args[2].trim_end_matches('/').to_string(),
        args[3].parse::<usize>().unwrap_or(32),
        args[4].parse::<u64>().unwrap_or(10).min(120),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    match mode.as_str() {
        "create" => {
            let c = client.clone();
            let u = url.clone();
            let (tally, elapsed) = run(clients, seconds, move |client_no, i| {
                let c = c.clone();
                let u = u.clone();
                async move {
                    let body = json!({"needs": ["activities"], "message": format!("load test {client_no}-{i}"), "age": 15, "where": "E8"});
                    Ok(c.post(format!("{u}/v1/referrals")).json(&body).send().await?.status().as_u16())
                }
            })
            .await;
            report("create", &tally, elapsed);
            println!(
                "acknowledged={}",
                tally.by_status.get(&201).copied().unwrap_or(0)
            );
        }
        "receipts" => {
            let mut receipts = Vec::new();
            for i in 0..200 {
                let body = json!({"needs": ["other"], "message": format!("receipt timing {i}")});
                let r: serde_json::Value = client
                    .post(format!("{url}/v1/referrals"))
                    .json(&body)
                    .send()
                    .await
                    .expect("create")
                    .json()
                    .await
                    .expect("json");
                receipts.push(r["receipt"].as_str().unwrap_or_default().to_string());
            }
            let receipts = Arc::new(receipts);
            for kind in ["valid", "unknown", "malformed"] {
                let c = client.clone();
                let u = url.clone();
                let rs = receipts.clone();
                let (tally, elapsed) = run(clients, seconds, move |client_no, i| {
                    let c = c.clone();
                    let u = u.clone();
                    let rs = rs.clone();
                    async move {
                        let n = (client_no as u64 * 7919 + i) as usize;
                        let receipt = match kind {
                            "valid" => rs[n % rs.len()].clone(),
                            // Well-formed, 100 bits, not issued: the same shape as a real one.
                            "unknown" => {
                                let alphabet = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
                                let mut x =
                                    (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
                                (0..20)
                                    .map(|k| {
                                        x = x.rotate_left(5).wrapping_add(k);
                                        alphabet[(x % 32) as usize] as char
                                    })
                                    .collect()
                            }
                            _ => format!("not-a-receipt-{n}"),
                        };
                        Ok(c.get(format!("{u}/v1/referrals/self"))
                            .bearer_auth(receipt)
                            .send()
                            .await?
                            .status()
                            .as_u16())
                    }
                })
                .await;
                report(kind, &tally, elapsed);
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
