//! In-process search latency as the directory grows (issue 2, target 4).
//!
//! For each size N a synthetic content directory is written, loaded into a fresh SQLite
//! database with `signpost::prepare` (exactly as the server starts), and then the body of
//! `GET /v1/services` is timed without HTTP: `SearchSpec::resolve` + `search::run` +
//! mapping the first page with `views::summary`. Building the query struct happens
//! outside the timed section.
//!
//! `parts/*` time two pieces of the first query on their own: the text index lookup for
//! "boxing" and serialising its first page to JSON (which the handler also does).
//!
//! Run: `cargo bench --bench search`
//! Sizes: `SIGNPOST_BENCH_SIZES=1000,10000` (default `1000,10000,100000`).
//! Quick check: `cargo bench --bench search -- --test`.
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion};
use signpost::directory::search::{SearchSpec, ServiceSearchQuery};
use signpost::directory::snapshot::Directory;
use signpost::directory::views;
use signpost::paging::Page;
use signpost::{AppState, Clock, Settings};

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/content");
const SEED: u64 = 42;

/// (benchmark name, query string as a client would send it)
const QUERIES: &[(&str, &str)] = &[
    (
        "boxing_age15_near_E8_5km",
        "q=boxing&age=15&near=E8&radius_km=5",
    ),
    ("q_youth", "q=youth"),
    ("name_order_page1", ""),
];

struct Loaded {
    n: usize,
    state: AppState,
    // Kept alive so the database and content survive until the benches finish.
    _tmp: tempfile::TempDir,
}

fn sizes() -> Vec<usize> {
    std::env::var("SIGNPOST_BENCH_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|s| s.trim().replace('_', "").parse().ok())
                .collect()
        })
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000])
}

/// `write_content_dir` writes the directory part of a content folder; anything else the
/// shipped content has (help lines, referral rules, articles, …) and the synthetic folder
/// lacks is copied over, so `prepare` finds what it needs as the shipped content grows.
/// `organisations/` is left as `write_content_dir` made it.
fn complete_content_dir(shipped: &Path, out: &Path) {
    fn copy_missing(from: &Path, to: &Path) {
        if from.is_dir() {
            std::fs::create_dir_all(to).expect("mkdir");
            for entry in std::fs::read_dir(from).expect("read_dir") {
                let entry = entry.expect("dir entry");
                copy_missing(&entry.path(), &to.join(entry.file_name()));
            }
        } else if !to.exists() {
            std::fs::copy(from, to).expect("copy");
        }
    }
    for entry in std::fs::read_dir(shipped).expect("read shipped content") {
        let entry = entry.expect("dir entry");
        if entry.file_name() != "organisations" {
            copy_missing(&entry.path(), &out.join(entry.file_name()));
        }
    }
}

fn load(rt: &tokio::runtime::Runtime, n: usize) -> Loaded {
    let tmp = tempfile::tempdir().expect("tempdir");
    let content = tmp.path().join("content");
    let gazetteer =
        signpost::geo::Gazetteer::load_cached(Path::new(SHIPPED)).expect("shipped gazetteer");

    let t = Instant::now();
    signpost::synthetic::write_content_dir(Path::new(SHIPPED), &content, n, SEED, &gazetteer)
        .expect("write synthetic content");
    complete_content_dir(Path::new(SHIPPED), &content);
    let wrote = t.elapsed();

    let db_url = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("bench.db").display()
    );
    let data_dir = tmp.path().display().to_string();
    let content_dir = content.display().to_string();
    let settings = Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(db_url.clone()),
        "SIGNPOST_CONTENT_DIR" => Some(content_dir.clone()),
        "SIGNPOST_DATA_DIR" => Some(data_dir.clone()),
        _ => None,
    })
    .expect("settings");

    let t = Instant::now();
    let state = rt
        .block_on(signpost::prepare(settings, Clock::system()))
        .expect("prepare");
    let prepared = t.elapsed();

    // A second snapshot build on the loaded database: the cost paid on every restart
    // and every reload after a content change.
    let t = Instant::now();
    rt.block_on(state.reload_directory()).expect("reload");
    let snapshot = t.elapsed();

    let services = state.directory.load().services.len();
    eprintln!(
        "[setup] N={n}: write content {:.2}s, prepare (migrate+sync+snapshot) {:.2}s, \
         snapshot rebuild {:.3}s, {services} services live",
        wrote.as_secs_f64(),
        prepared.as_secs_f64(),
        snapshot.as_secs_f64(),
    );
    Loaded {
        n,
        state,
        _tmp: tmp,
    }
}

fn query(raw: &str) -> ServiceSearchQuery {
    signpost::extract::parse_query(raw).expect("query parses")
}

/// What `list_services` does between extracting the query and serialising the page.
fn search_page<'a>(
    state: &AppState,
    dir: &'a Directory,
    q: ServiceSearchQuery,
    now: chrono::DateTime<chrono::Utc>,
) -> Page<views::ServiceSummary<'a>> {
    let spec = SearchSpec::resolve(q, dir, &state.gazetteer).expect("valid query");
    views::search_page(dir, &spec, now)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let loaded: Vec<Loaded> = sizes().into_iter().map(|n| load(&rt, n)).collect();
    let now = chrono::Utc::now();

    for l in &loaded {
        let dir = l.state.directory.load_full();
        for (name, raw) in QUERIES {
            let page = search_page(&l.state, &dir, query(raw), now);
            eprintln!(
                "[hits] N={} {name}: {} matches, {} on page 1",
                l.n,
                page.total_items,
                page.contents.len()
            );
        }
    }

    let mut c = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    for (name, raw) in QUERIES {
        let mut group = c.benchmark_group(format!("search/{name}"));
        for l in &loaded {
            group.bench_with_input(BenchmarkId::from_parameter(l.n), l, |b, l| {
                let dir = l.state.directory.load_full();
                b.iter_batched(
                    || query(raw),
                    |q| black_box(search_page(&l.state, &dir, q, now)),
                    BatchSize::SmallInput,
                );
            });
        }
        group.finish();
    }

    // Parts of the benchmark query, to see where its time goes.
    let (_, bench_query) = QUERIES[0];
    let mut group = c.benchmark_group("parts/text_index_boxing");
    for l in &loaded {
        group.bench_with_input(BenchmarkId::from_parameter(l.n), l, |b, l| {
            let dir = l.state.directory.load();
            b.iter(|| black_box(dir.index.search(black_box("boxing"))));
        });
    }
    group.finish();
    let mut group = c.benchmark_group("parts/json_page_boxing");
    for l in &loaded {
        let dir = l.state.directory.load_full();
        let page = search_page(&l.state, &dir, query(bench_query), now);
        group.bench_with_input(BenchmarkId::from_parameter(l.n), &page, |b, page| {
            b.iter(|| black_box(serde_json::to_vec(black_box(page)).expect("json")));
        });
    }
    group.finish();
    c.final_summary();
    drop(loaded);
}
