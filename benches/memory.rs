//! Where the server's memory goes (issue 2, target 2): live heap bytes, counted by a
//! wrapping global allocator, after each start-up step, and the process RSS beside them.
//! Live heap is what the data needs; RSS minus that is allocator overhead and
//! fragmentation (freed memory glibc keeps) plus the mapped binary.
//!
//! The server binary uses mimalloc (src/main.rs); this bench runs on the system allocator,
//! so its RSS column shows glibc's retention, while the live-heap figures hold for both.
//!
//! Run: `cargo bench --bench memory` (N from `SIGNPOST_BENCH_SERVICES`, default 10000).
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now =
                    LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/content");

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn status_kib(key: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn report(step: &str, before: usize) -> usize {
    let live = LIVE.load(Relaxed);
    println!(
        "{step:<44} live heap {:>7.1} MiB (step {:>+7.1} MiB, peak in step {:>6.1} MiB)   RSS {:>6.1} MiB",
        mib(live),
        mib(live) - mib(before),
        mib(PEAK.load(Relaxed)),
        status_kib("VmRSS:") as f64 / 1024.0,
    );
    // The next step's peak starts from what is live now.
    PEAK.store(live, Relaxed);
    live
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. a criterion filter) is ignored.
    let n: usize = std::env::var("SIGNPOST_BENCH_SERVICES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let content = tmp.path().join("content");
    {
        let g = signpost::geo::Gazetteer::load(&Path::new(SHIPPED).join("data")).expect("gaz");
        signpost::synthetic::write_content_dir(Path::new(SHIPPED), &content, n, 42, &g)
            .expect("synthetic content");
    }
    complete_content_dir(Path::new(SHIPPED), &content);
    println!("memory with {n} synthetic services (glibc malloc unless LD_PRELOAD says otherwise)");
    let mut last = report("start", 0);

    let gazetteer = signpost::geo::Gazetteer::load_cached(&content).expect("gazetteer");
    last = report("gazetteer (postcode table) loaded", last);

    let db_url = format!("sqlite://{}?mode=rwc", tmp.path().join("m.db").display());
    let db = rt
        .block_on(signpost::db::connect_url(&db_url, 16))
        .expect("connect");
    rt.block_on(signpost::db::migrate(&db)).expect("migrate");
    last = report("database connected and migrated", last);

    rt.block_on(signpost::content::sync(
        &db,
        &gazetteer,
        &content,
        chrono::Utc::now(),
    ))
    .expect("sync");
    last = report("content synced (garbage freed)", last);

    let dir = rt
        .block_on(signpost::directory::snapshot::load(&db, &gazetteer))
        .expect("snapshot");
    last = report(
        &format!("directory snapshot ({} services)", dir.services.len()),
        last,
    );

    drop(dir);
    last = report("snapshot dropped", last);
    drop(db);
    last = report("database pool dropped", last);
    println!(
        "VmHWM so far {:.1} MiB",
        status_kib("VmHWM:") as f64 / 1024.0
    );

    // The whole start-up as the server does it, on the database loaded above (a restart):
    // everything `prepare` keeps in `AppState` beyond the steps above shows here.
    let data_dir = tmp.path().display().to_string();
    let content_dir = content.display().to_string();
    let settings = signpost::Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(db_url.clone()),
        "SIGNPOST_CONTENT_DIR" => Some(content_dir.clone()),
        "SIGNPOST_DATA_DIR" => Some(data_dir.clone()),
        _ => None,
    })
    .expect("settings");
    let state = rt
        .block_on(signpost::prepare(settings, signpost::Clock::system()))
        .expect("prepare");
    report("full prepare() on that database (AppState)", last);
    println!("VmHWM {:.1} MiB", status_kib("VmHWM:") as f64 / 1024.0);
    drop(state);
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
