//! Load generator for the youth-worker console (issue 11's figures; see docs/PERFORMANCE.md).
//!
//! `cargo run --release --example console_load -- seed URL N CLIENTS`
//!   posts exactly N self-referrals to `POST /v1/referrals` from CLIENTS concurrent
//!   clients (no service chosen, so they go to the duty team, `signpost-duty-team`):
//!   mostly routine, some urgent (danger now, an urgent need, or urgent words), one to
//!   three needs, written the way young people write. Fails unless all N are 201.
//! `cargo run --release --example console_load -- pages URL EMAIL PASSWORD CLIENTS SECONDS`
//!   signs CLIENTS browsers in to the console (sign-in form, its hidden `csrf`, `Origin`,
//!   cookies kept by hand, redirects not followed), then runs two timed phases of SECONDS
//!   each, after a 3 s warm-up each: `GET /console/inbox` (page 1 and filtered or paged
//!   variants), then `GET /console/referrals/{id}` for ids picked at random from every
//!   referral (collected first through `GET /v1/inbox?per_page=100&page=N`). The time is
//!   to the end of the body; requests send `Accept-Encoding: gzip, deflate, br` as a
//!   browser does. Non-200 answers are errors and are printed.
//! `cargo run --release --example console_load -- weight URL EMAIL PASSWORD`
//!   what a first visit costs on the wire: the sign-in page, the inbox and one referral,
//!   each with every stylesheet, script and image it references (and `url(...)` in the
//!   stylesheets), fetched with `Accept-Encoding: br, gzip`; prints each resource and its
//!   compressed bytes; exits 1 if a page with its assets is over 60,000 bytes or anything
//!   it references is on another host.
//!
//! Sends traffic only to the URL given (use 127.0.0.1). Bounded in time.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, SET_COOKIE};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const WEIGHT_LIMIT: usize = 60_000;
const BROWSER_ENCODINGS: &str = "gzip, deflate, br";
const WARM_UP_SECS: u64 = 3;

fn die(what: impl std::fmt::Display) -> ! {
    eprintln!("console_load: {what}");
    std::process::exit(1);
}

// ---------------------------------------------------------------------------------------
// Figures

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    by_status: BTreeMap<u16, u64>,
    /// Transport failures (no answer at all).
    errors: u64,
    /// Non-200 answers and transport failures, as `status path` (the first 20).
    failures: Vec<String>,
    failures_total: u64,
}

impl Tally {
    fn record(&mut self, status: Option<u16>, micros: u64, path: &str) {
        match status {
            Some(s) => {
                self.latencies_us.push(micros);
                *self.by_status.entry(s).or_default() += 1;
                if s != 200 {
                    self.fail(format!("{s} {path}"));
                }
            }
            None => {
                self.errors += 1;
                self.fail(format!("no answer {path}"));
            }
        }
    }

    fn fail(&mut self, what: String) {
        self.failures_total += 1;
        if self.failures.len() < 20 {
            self.failures.push(what);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.by_status {
            *self.by_status.entry(k).or_default() += v;
        }
        self.errors += other.errors;
        self.failures_total += other.failures_total;
        for f in other.failures {
            if self.failures.len() < 20 {
                self.failures.push(f);
            }
        }
    }

    fn ok(&self) -> u64 {
        self.by_status.get(&200).copied().unwrap_or(0)
    }
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
        tally.failures_total,
        percentile(&l, 0.50),
        percentile(&l, 0.90),
        percentile(&l, 0.99),
        percentile(&l, 1.0),
    );
    for f in &tally.failures {
        println!("  error: {f}");
    }
    if tally.failures_total > tally.failures.len() as u64 {
        println!(
            "  … and {} more errors",
            tally.failures_total - tally.failures.len() as u64
        );
    }
}

// ---------------------------------------------------------------------------------------
// Referrals as young people write them

/// Needs a worker does not have to treat as urgent on their own, with messages.
const ROUTINE: &[(&str, &[&str])] = &[
    (
        "activities",
        &[
            "hi is there any football near me after school? im 14 and my mates stopped going",
            "looking for something to do on saturdays, boxing or basketball or anything tbh",
            "my mum said i should ask here. i wanna learn music production but we dont have money for it",
            "any youth clubs open in the holidays?? bored out my mind at home",
            "i used to do dance but the class shut down. is there another one round here",
            "is there a gym thing for under 16s thats free or cheap",
        ],
    ),
    (
        "education-employment",
        &[
            "got kicked out of college and dont know what to do now. i want to do an apprenticeship",
            "need help with my cv, applied for like 20 jobs and heard nothing back",
            "im in year 11 and i dont think im gonna pass maths. is there free tutoring anywhere",
            "how do i get work experience? school said sort it urself",
            "i left school with no gcses and everyone acts like thats it for me",
        ],
    ),
    (
        "mental-health",
        &[
            "been feeling really low for a few weeks and cant be bothered with anything. not sure who to talk to",
            "i get really anxious on the bus and at school, my heart goes mad. is there someone i can speak to",
            "cant sleep properly and my head is all over the place. gp waiting list is months",
            "idk whats wrong with me i just feel flat all the time",
        ],
    ),
    (
        "family",
        &[
            "me and my dad keep arguing every day and its doing my head in",
            "my parents are splitting up and i have to pick who to live with. i dont want to pick",
            "my little brother has autism and i look after him loads, is there support for young carers",
            "my mum works nights so im basically raising my sisters. im tired all the time",
        ],
    ),
    (
        "bereavement",
        &[
            "my nan died last month and i cant stop thinking about it. everyone says im fine but im not",
            "my best mate passed away in the summer and school dont get it",
        ],
    ),
    (
        "drugs-alcohol",
        &[
            "my friends smoke weed every day and i think i am too now. want to cut down but its hard",
            "my mum drinks a lot and i dont know who to tell",
        ],
    ),
    (
        "online-harm",
        &[
            "someone keeps making fake accounts of me on insta and posting stuff. reported it but nothing happens",
            "a group chat from school keeps sharing stuff about me and i cant leave it",
        ],
    ),
    (
        "somewhere-to-stay",
        &[
            "staying on my mates sofa for 2 weeks now, his mum says i have to go soon. where can i go",
            "me and my mum got evicted and were in a hostel, is there anything for young people",
        ],
    ),
    (
        "police-court",
        &[
            "i have court next month and i dont understand what happens or if i need a lawyer",
            "police stopped me 3 times this month for nothing. can someone explain my rights",
        ],
    ),
    (
        "knife-crime",
        &[
            "loads of people at my school carry and i dont want to get involved. is there a project about it",
            "i want to do something about knife crime in my area, is there a group i can join",
        ],
    ),
    (
        "other",
        &[
            "not sure which box to tick. i just want someone to talk to about stuff",
            "my friend told me about this app. i dont really know what i need tbh",
        ],
    ),
];

/// Needs that are always urgent, with messages.
const URGENT_NEEDS: &[(&str, &[&str])] = &[
    (
        "feeling-unsafe",
        &[
            "theres a group that waits for me outside school every day and im scared to walk home",
            "someone from my old area found out where i live now. i dont feel safe",
        ],
    ),
    (
        "self-harm",
        &[
            "ive been hurting myself again and i dont want my mum to find out",
            "i need help to stop cutting. its getting worse",
        ],
    ),
    (
        "not-safe-at-home",
        &[
            "its really bad at home right now and i dont want to go back tonight",
            "my stepdad gets angry when he drinks and i lock myself in my room",
        ],
    ),
];

/// Routine needs, but words in the message that can mean danger.
const URGENT_WORDS: &[(&str, &str)] = &[
    (
        "knife-crime",
        "these boys said theyre gonna stab me after school tomorrow",
    ),
    (
        "mental-health",
        "i dont want to be here anymore. whats the point",
    ),
    (
        "exploitation",
        "older lot make me carry stuff to other towns and they said theyll hurt my mum if i stop",
    ),
    (
        "family",
        "my dad hit me again last night and i have a bruise on my face",
    ),
];

const SECOND_NEEDS: &[&str] = &[
    "activities",
    "education-employment",
    "mental-health",
    "family",
    "somewhere-to-stay",
    "other",
];

const WHERE: &[&str] = &[
    "E8",
    "N15",
    "SE15",
    "SW9",
    "N17",
    "NW10",
    "E1",
    "SE1",
    "CR0",
    "E17",
    "hackney",
    "lambeth",
    "croydon",
    "southwark",
    "tower-hamlets",
    "newham",
];

const SAFE_TIMES: &[&str] = &[
    "after 4pm",
    "not before 12 on weekends",
    "text first pls dont call",
    "any time after school",
    "evenings only",
];

/// Referral number `n`, the same every run.
fn referral(n: u64) -> Value {
    let mut r = StdRng::seed_from_u64(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5150);
    let roll = r.random_range(0..100);
    let mut in_danger_now = false;
    let (mut needs, message): (Vec<&str>, String) = if roll < 2 {
        in_danger_now = true;
        (
            vec!["feeling-unsafe"],
            "please someone help theyre outside my house right now".to_string(),
        )
    } else if roll < 5 {
        let (need, msgs) = URGENT_NEEDS[r.random_range(0..URGENT_NEEDS.len())];
        (vec![need], msgs[r.random_range(0..msgs.len())].to_string())
    } else if roll < 8 {
        let (need, msg) = URGENT_WORDS[r.random_range(0..URGENT_WORDS.len())];
        (vec![need], msg.to_string())
    } else {
        let (need, msgs) = ROUTINE[r.random_range(0..ROUTINE.len())];
        (vec![need], msgs[r.random_range(0..msgs.len())].to_string())
    };
    let extra = match r.random_range(0..100) {
        0..75 => 0,
        75..95 => 1,
        _ => 2,
    };
    for _ in 0..extra {
        let n = SECOND_NEEDS[r.random_range(0..SECOND_NEEDS.len())];
        if !needs.contains(&n) {
            needs.push(n);
        }
    }
    // A tail that makes messages differ, as real ones do.
    let tails = [
        "",
        "",
        " thanks",
        " x",
        " sorry if this is the wrong place",
        " pls reply",
        " idk if anyone reads these",
    ];
    let message = format!("{message}{}", tails[r.random_range(0..tails.len())]);
    let mut body = json!({"needs": needs, "message": message, "in_danger_now": in_danger_now});
    if r.random_range(0..100) < 80 {
        // Mostly 13–18, some younger and older.
        let age = match r.random_range(0..10) {
            0 => r.random_range(11..13),
            1 => r.random_range(19..25),
            _ => r.random_range(13..19),
        };
        body["age"] = json!(age);
    }
    if r.random_range(0..100) < 60 {
        body["where"] = json!(WHERE[r.random_range(0..WHERE.len())]);
    }
    let safe_times = (r.random_range(0..3) == 0)
        .then(|| SAFE_TIMES[r.random_range(0..SAFE_TIMES.len())].to_string());
    let contact = match r.random_range(0..100) {
        0..50 => Some(json!({"method": "app"})),
        50..75 => Some(json!({
            "method": "text",
            // Ofcom's drama range: never a real number.
            "value": format!("07700 900{:03}", n % 1000),
            "safe_times": safe_times,
            "ok_to_leave_message": r.random_range(0..2) == 0,
        })),
        75..90 => Some(json!({
            "method": "email",
            "value": format!("young.person{n}@example.com"),
            "safe_times": safe_times,
        })),
        _ => None,
    };
    if let Some(c) = contact {
        body["contact"] = c;
    }
    body
}

async fn seed(client: reqwest::Client, url: String, total: u64, clients: usize) {
    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new((
        Tally::default(),
        BTreeMap::<String, u64>::new(),
    )));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, next, tally) = (client.clone(), url.clone(), next.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = Tally::default();
            let mut urgency = BTreeMap::<String, u64>::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let t = Instant::now();
                let res = client
                    .post(format!("{url}/v1/referrals"))
                    .json(&referral(n))
                    .send()
                    .await;
                match res {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let body: Value = res.json().await.unwrap_or(Value::Null);
                        local.latencies_us.push(t.elapsed().as_micros() as u64);
                        *local.by_status.entry(status).or_default() += 1;
                        if status == 201 {
                            let u = body["urgency"].as_str().unwrap_or("?").to_string();
                            *urgency.entry(u).or_default() += 1;
                        } else {
                            local.fail(format!("{status} referral {n}: {body}"));
                        }
                    }
                    Err(e) => {
                        local.errors += 1;
                        local.fail(format!("referral {n}: {e}"));
                    }
                }
            }
            let mut all = tally.lock().await;
            all.0.merge(local);
            for (k, v) in urgency {
                *all.1.entry(k).or_default() += v;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let all = tally.lock().await;
    let created = all.0.by_status.get(&201).copied().unwrap_or(0);
    println!(
        "seeded: created={created} of {total} statuses={:?} urgency={:?} in {:.1}s",
        all.0.by_status,
        all.1,
        elapsed.as_secs_f64()
    );
    for f in &all.0.failures {
        println!("  error: {f}");
    }
    if created != total {
        die(format!("only {created} of {total} referrals were created"));
    }
}

// ---------------------------------------------------------------------------------------
// A browser without JavaScript

#[derive(Clone)]
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Got {
    status: u16,
    location: String,
    content_type: String,
    content_encoding: String,
    body: Vec<u8>,
}

impl Browser {
    fn new(client: reqwest::Client, base: &str) -> Self {
        Self {
            client,
            base: base.to_string(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn take(&mut self, res: reqwest::Response) -> Result<Got, reqwest::Error> {
        for v in res.headers().get_all(SET_COOKIE) {
            let raw = v.to_str().unwrap_or_default();
            let pair = raw.split(';').next().unwrap_or_default();
            if let Some((k, val)) = pair.split_once('=') {
                if raw.contains("Max-Age=0") {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_string(), val.to_string());
                }
            }
        }
        let header = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let (location, content_type, content_encoding) = (
            header(reqwest::header::LOCATION),
            header(CONTENT_TYPE),
            header(CONTENT_ENCODING),
        );
        let status = res.status().as_u16();
        let body = res.bytes().await?.to_vec();
        Ok(Got {
            status,
            location,
            content_type,
            content_encoding,
            body,
        })
    }

    /// A GET as a browser sends it; `encoding` is its `Accept-Encoding`.
    async fn get(&mut self, path: &str, encoding: &str) -> Result<Got, reqwest::Error> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header(ACCEPT, "text/html,*/*;q=0.8")
            .header(ACCEPT_ENCODING, encoding)
            .send()
            .await?;
        self.take(res).await
    }

    /// Signs in through the form; dies unless it ends on the inbox.
    async fn sign_in(&mut self, email: &str, password: &str) {
        let form = match self.get("/console/sign-in", "identity").await {
            Ok(g) if g.status == 200 => g,
            Ok(g) => die(format!("GET /console/sign-in answered {}", g.status)),
            Err(e) => die(format!("GET /console/sign-in: {e}")),
        };
        let html = String::from_utf8_lossy(&form.body);
        let Some(csrf) = attribute_after(&html, "name=\"csrf\" value=\"") else {
            die("the sign-in page has no csrf field");
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
            ])
            .finish();
        let res = self
            .client
            .post(format!("{}/console/sign-in", self.base))
            .header("cookie", self.cookie_header())
            .header("origin", self.base.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| die(format!("POST /console/sign-in: {e}")));
        let got = self
            .take(res)
            .await
            .unwrap_or_else(|e| die(format!("POST /console/sign-in: {e}")));
        if got.status != 303 || got.location != "/console/inbox" {
            die(format!(
                "signing in answered {} to {:?} (is SIGNPOST_REQUIRE_2FA=none, and the password right?)",
                got.status, got.location
            ));
        }
        match self.get("/console/inbox", "identity").await {
            Ok(g) if g.status == 200 => {}
            Ok(g) => die(format!("the inbox after signing in answered {}", g.status)),
            Err(e) => die(format!("the inbox after signing in: {e}")),
        }
    }
}

/// The text from after `marker` up to the next `"`.
fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)? + marker.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_string())
}

// ---------------------------------------------------------------------------------------
// Pages under load

async fn referral_ids(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> Vec<String> {
    let login: Value = client
        .post(format!("{url}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap_or_else(|e| die(format!("POST /v1/auth/login: {e}")))
        .json()
        .await
        .unwrap_or_else(|e| die(format!("POST /v1/auth/login: {e}")));
    let Some(token) = login["token"].as_str() else {
        die(format!("POST /v1/auth/login gave no token: {login}"));
    };
    let mut ids = Vec::new();
    for page in 1..=10_000 {
        let body: Value = client
            .get(format!("{url}/v1/inbox?per_page=100&page={page}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| die(format!("GET /v1/inbox: {e}")))
            .json()
            .await
            .unwrap_or_else(|e| die(format!("GET /v1/inbox: {e}")));
        let Some(items) = body["contents"].as_array() else {
            die(format!("GET /v1/inbox page {page}: {body}"));
        };
        ids.extend(
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(String::from)),
        );
        if body["last_page"].as_bool() != Some(false) {
            break;
        }
    }
    if ids.is_empty() {
        die("the inbox is empty: seed it first");
    }
    ids
}

/// Runs CLIENTS signed-in browsers for `seconds`, each asking for `path(client, i, rng)`
/// one after another; a tally for each label `path` gives.
async fn run_pages<F>(
    browsers: &[Browser],
    seconds: u64,
    path: F,
) -> (BTreeMap<&'static str, Tally>, Duration)
where
    F: Fn(usize, u64, &mut StdRng) -> (&'static str, String) + Send + Sync + 'static,
{
    let tallies = Arc::new(Mutex::new(BTreeMap::<&'static str, Tally>::new()));
    let path = Arc::new(path);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (c, b) in browsers.iter().enumerate() {
        let (mut b, tallies, path) = (b.clone(), tallies.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(7919 * (c as u64 + 1));
            let mut local = BTreeMap::<&'static str, Tally>::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let (label, p) = path(c, i, &mut rng);
                let t = Instant::now();
                let status = b.get(&p, BROWSER_ENCODINGS).await.ok().map(|g| g.status);
                local
                    .entry(label)
                    .or_default()
                    .record(status, t.elapsed().as_micros() as u64, &p);
                i += 1;
            }
            let mut all = tallies.lock().await;
            for (k, v) in local {
                all.entry(k).or_default().merge(v);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let tallies = std::mem::take(&mut *tallies.lock().await);
    (tallies, elapsed)
}

fn report_phase(phase: &str, tallies: &BTreeMap<&'static str, Tally>, elapsed: Duration) -> u64 {
    let mut all = Tally::default();
    for t in tallies.values() {
        all.latencies_us.extend(&t.latencies_us);
        for (k, v) in &t.by_status {
            *all.by_status.entry(*k).or_default() += v;
        }
        all.errors += t.errors;
        all.failures_total += t.failures_total;
        let room = 20usize.saturating_sub(all.failures.len());
        all.failures.extend(t.failures.iter().take(room).cloned());
    }
    report(phase, &all, elapsed);
    if tallies.len() > 1 {
        for (label, t) in tallies {
            let mut l = t.latencies_us.clone();
            l.sort_unstable();
            println!(
                "  {phase} {label}: requests={} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
                l.len(),
                percentile(&l, 0.50),
                percentile(&l, 0.90),
                percentile(&l, 0.99),
                percentile(&l, 1.0),
            );
        }
    }
    all.failures_total
}

async fn pages(
    client: reqwest::Client,
    url: String,
    email: String,
    password: String,
    clients: usize,
    seconds: u64,
) {
    let ids = Arc::new(referral_ids(&client, &url, &email, &password).await);
    let last_page = (ids.len() as u64).div_ceil(25).max(1);
    println!(
        "referrals in the inbox: {} ({last_page} console pages of 25)",
        ids.len()
    );
    let mut browsers = Vec::new();
    for _ in 0..clients {
        let mut b = Browser::new(client.clone(), &url);
        b.sign_in(&email, &password).await;
        browsers.push(b);
    }
    println!("{clients} browsers signed in");

    // Half the requests are the inbox as it opens; the rest are what a worker clicks.
    let variants: Vec<(&'static str, String)> = vec![
        ("urgent", "/console/inbox?urgency=urgent".into()),
        ("status=received", "/console/inbox?status=received".into()),
        (
            "need=mental-health",
            "/console/inbox?need=mental-health".into(),
        ),
        ("unclaimed", "/console/inbox?unclaimed=1".into()),
        ("waiting", "/console/inbox?waiting=1".into()),
        ("mine", "/console/inbox?mine=1".into()),
        ("page=2", "/console/inbox?page=2".into()),
        ("last page", format!("/console/inbox?page={last_page}")),
    ];
    let variants = Arc::new(variants);
    let inbox = {
        let variants = variants.clone();
        move |_c: usize, i: u64, _r: &mut StdRng| -> (&'static str, String) {
            if i.is_multiple_of(2) {
                ("page 1", "/console/inbox".to_string())
            } else {
                let (label, p) = &variants[(i / 2) as usize % variants.len()];
                (*label, p.clone())
            }
        }
    };
    let referral = {
        let ids = ids.clone();
        move |_c: usize, _i: u64, r: &mut StdRng| -> (&'static str, String) {
            let id = &ids[r.random_range(0..ids.len())];
            ("referral", format!("/console/referrals/{id}"))
        }
    };

    let mut failed = 0;
    let (warm, _) = run_pages(&browsers, WARM_UP_SECS, inbox.clone()).await;
    failed += warm.values().map(|t| t.failures_total).sum::<u64>();
    let (t, elapsed) = run_pages(&browsers, seconds, inbox).await;
    failed += report_phase("inbox", &t, elapsed);

    let (warm, _) = run_pages(&browsers, WARM_UP_SECS, referral.clone()).await;
    let mut opened = warm.values().map(Tally::ok).sum::<u64>();
    failed += warm.values().map(|t| t.failures_total).sum::<u64>();
    let (t, elapsed) = run_pages(&browsers, seconds, referral).await;
    failed += report_phase("referral", &t, elapsed);
    opened += t.values().map(Tally::ok).sum::<u64>();
    // Each opening records a `viewed` event: the script checks the count.
    println!("referral_pages_opened={opened}");
    if failed > 0 {
        die(format!("{failed} requests were not answered 200"));
    }
}

// ---------------------------------------------------------------------------------------
// Page weight

/// Every address a browser would load for this HTML: stylesheets, scripts, images.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (tag, attr) in [
        ("<link", "href"),
        ("<script", "src"),
        ("<img", "src"),
        ("<source", "src"),
        ("<iframe", "src"),
        ("<video", "src"),
        ("<audio", "src"),
        ("<object", "data"),
        ("<embed", "src"),
    ] {
        let mut rest = html;
        while let Some(at) = rest.find(tag) {
            let after = &rest[at + tag.len()..];
            let end = after.find('>').unwrap_or(after.len());
            let element = &after[..end];
            // `<link rel="canonical">` and the like load nothing; stylesheets, icons,
            // preloads and manifests do.
            let loads = tag != "<link"
                || ["stylesheet", "icon", "preload", "modulepreload", "manifest"]
                    .iter()
                    .any(|r| element.contains(r));
            if loads && let Some(v) = attr_value(element, attr) {
                found.push(v);
            }
            rest = &after[end..];
        }
    }
    found
}

fn attr_value(element: &str, attr: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let marker = format!(" {attr}={quote}");
        if let Some(at) = element.find(&marker) {
            let rest = &element[at + marker.len()..];
            return Some(rest[..rest.find(quote)?].replace("&amp;", "&"));
        }
    }
    None
}

/// `url(...)` and `@import` in a stylesheet.
fn css_references(css: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = css;
    while let Some(at) = rest.find("url(") {
        let after = &rest[at + 4..];
        let end = after.find(')').unwrap_or(after.len());
        found.push(after[..end].trim().trim_matches(['"', '\'']).to_string());
        rest = &after[end..];
    }
    let mut rest = css;
    while let Some(at) = rest.find("@import") {
        let after = rest[at + 7..].trim_start();
        if let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'')
            && let Some(end) = after[1..].find(q)
        {
            found.push(after[1..1 + end].to_string());
        }
        rest = &rest[at + 7..];
    }
    found
}

/// Same host: a path on this site, a `data:` URL (no request), or an absolute URL with
/// the same origin.
fn same_host(reference: &str, base: &str) -> bool {
    let r = reference.trim();
    if r.starts_with("data:") {
        return true;
    }
    if r.starts_with("//") {
        return format!("http:{r}").starts_with(base) || format!("https:{r}").starts_with(base);
    }
    if let Some((scheme, _)) = r.split_once(':')
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        let origin_end = r[scheme.len() + 3..]
            .find('/')
            .map_or(r.len(), |i| i + scheme.len() + 3);
        return r[..origin_end] == *base;
    }
    true
}

/// An address relative to `from` (a path on this site) as a path.
fn resolve(reference: &str, from: &str, base: &str) -> String {
    let r = reference.trim();
    if let Some(rest) = r.strip_prefix(base) {
        return rest.to_string();
    }
    if r.starts_with('/') {
        return r.to_string();
    }
    let dir = &from[..from.rfind('/').map_or(0, |i| i + 1)];
    format!("{dir}{r}")
}

struct Weighed {
    problems: Vec<String>,
}

/// One page and everything it loads: prints each and returns the total on the wire.
async fn weigh(b: &mut Browser, page_path: &str, what: &str, w: &mut Weighed) -> usize {
    println!("-- {what}: {page_path}");
    let wire = match b.get(page_path, "br, gzip").await {
        Ok(g) => g,
        Err(e) => die(format!("GET {page_path}: {e}")),
    };
    if wire.status != 200 {
        w.problems
            .push(format!("{page_path} answered {}", wire.status));
    }
    // The same address again, uncompressed, to read what it references.
    let plain = match b.get(page_path, "identity").await {
        Ok(g) => g,
        Err(e) => die(format!("GET {page_path}: {e}")),
    };
    let html = String::from_utf8_lossy(&plain.body).to_string();
    let mut total = wire.body.len();
    println!(
        "  {:>7} B {:<6} ({:>6} B uncompressed)  {page_path}",
        wire.body.len(),
        if wire.content_encoding.is_empty() {
            "none"
        } else {
            &wire.content_encoding
        },
        plain.body.len()
    );
    let mut queue: Vec<(String, String)> = references(&html)
        .into_iter()
        .map(|r| (r, page_path.to_string()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((reference, from)) = queue.pop() {
        if !same_host(&reference, &b.base) {
            w.problems
                .push(format!("{page_path} loads {reference} from another host"));
            println!("  ANOTHER HOST: {reference}");
            continue;
        }
        if reference.trim().starts_with("data:") {
            println!("        0 B inline  data: URL in {from}");
            continue;
        }
        let path = resolve(&reference, &from, &b.base);
        if !seen.insert(path.clone()) {
            continue;
        }
        let got = match b.get(&path, "br, gzip").await {
            Ok(g) => g,
            Err(e) => die(format!("GET {path}: {e}")),
        };
        if got.status != 200 {
            w.problems.push(format!("{path} answered {}", got.status));
        }
        total += got.body.len();
        let plain = b.get(&path, "identity").await.ok();
        let plain_len = plain.as_ref().map_or(0, |p| p.body.len());
        println!(
            "  {:>7} B {:<6} ({:>6} B uncompressed)  {path}",
            got.body.len(),
            if got.content_encoding.is_empty() {
                "none"
            } else {
                &got.content_encoding
            },
            plain_len
        );
        if got.content_type.starts_with("text/css")
            && let Some(p) = plain
        {
            let css = String::from_utf8_lossy(&p.body).to_string();
            queue.extend(css_references(&css).into_iter().map(|r| (r, path.clone())));
        }
    }
    // Browsers ask for /favicon.ico when a page names no icon.
    if !html.contains("rel=\"icon\"") && !html.contains("rel=\"shortcut icon\"") {
        match b.get("/favicon.ico", "br, gzip").await {
            Ok(g) => {
                println!(
                    "  {:>7} B {:<6} /favicon.ico (a browser asks for it; answered {})",
                    g.body.len(),
                    if g.content_encoding.is_empty() {
                        "none"
                    } else {
                        &g.content_encoding
                    },
                    g.status
                );
                total += g.body.len();
            }
            Err(e) => die(format!("GET /favicon.ico: {e}")),
        }
    }
    let verdict = if total <= WEIGHT_LIMIT {
        "under"
    } else {
        "OVER"
    };
    println!("  total {total} B on the wire ({verdict} {WEIGHT_LIMIT} B; headers not counted)");
    if total > WEIGHT_LIMIT {
        w.problems
            .push(format!("{what} weighs {total} B, over {WEIGHT_LIMIT} B"));
    }
    total
}

async fn weight(client: reqwest::Client, url: String, email: String, password: String) {
    let mut w = Weighed {
        problems: Vec::new(),
    };
    // A first visit: nothing cached, not signed in.
    let mut anonymous = Browser::new(client.clone(), &url);
    let sign_in = weigh(&mut anonymous, "/console/sign-in", "sign-in page", &mut w).await;

    let mut b = Browser::new(client.clone(), &url);
    b.sign_in(&email, &password).await;
    let inbox = weigh(&mut b, "/console/inbox", "inbox page", &mut w).await;
    let html = match b.get("/console/inbox", "identity").await {
        Ok(g) => String::from_utf8_lossy(&g.body).to_string(),
        Err(e) => die(format!("GET /console/inbox: {e}")),
    };
    let Some(id) = attribute_after(&html, "href=\"/console/referrals/") else {
        die("the inbox page links to no referral");
    };
    let referral = weigh(
        &mut b,
        &format!("/console/referrals/{id}"),
        "referral page",
        &mut w,
    )
    .await;
    println!(
        "weight: sign-in={sign_in} B inbox={inbox} B referral={referral} B (limit {WEIGHT_LIMIT} B each, assets included)"
    );
    if w.problems.is_empty() {
        println!("weight: every reference is on this host");
    } else {
        for p in &w.problems {
            println!("weight problem: {p}");
        }
        std::process::exit(1);
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: console_load seed URL N CLIENTS | pages URL EMAIL PASSWORD CLIENTS SECONDS | weight URL EMAIL PASSWORD";
    let arg = |i: usize| -> String {
        args.get(i).cloned().unwrap_or_else(|| {
            eprintln!("{usage}");
            std::process::exit(2)
        })
    };
    let mode = arg(1);
    let url = arg(2).trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| die(format!("client: {e}")));
    match mode.as_str() {
        "seed" => {
            let n = arg(3)
                .parse::<u64>()
                .unwrap_or_else(|_| die("N must be a number"));
            let clients = arg(4).parse::<usize>().unwrap_or(8).clamp(1, 256);
            seed(client, url, n, clients).await;
        }
        "pages" => {
            let clients = arg(5).parse::<usize>().unwrap_or(8).clamp(1, 256);
            let seconds = arg(6).parse::<u64>().unwrap_or(20).min(120);
            pages(client, url, arg(3), arg(4), clients, seconds).await;
        }
        "weight" => weight(client, url, arg(3), arg(4)).await,
        other => {
            eprintln!("unknown mode {other}; {usage}");
            std::process::exit(2);
        }
    }
}
