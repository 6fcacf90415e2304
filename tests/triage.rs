//! Triage measured on a labelled corpus of messages written the way young people write
//! (`tests/triage/messages.tsv`), with the shipped content: urgent recall must stay at
//! least 98 %, and the false-alarm rate under the bound below.
//!
//! `cargo test --test triage -- --nocapture` prints the report: recall, false alarms,
//! every miss and every false alarm with the phrases that matched. To see what triage
//! makes of one message: `TRIAGE_MESSAGE='...' cargo test --test triage explain -- --nocapture`.
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use signpost::content::files::ContentFiles;
use signpost::referrals::rules::ReferralRules;

/// At least this share of urgent messages must be triaged urgent.
const MIN_RECALL: f64 = 0.98;
/// At most this share of routine messages may be triaged urgent (set from the measured
/// rate with some room; see docs/TRIAGE.md).
const MAX_FALSE_ALARM_RATE: f64 = 0.06;

fn content() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("content")
}

/// The shipped rules, with the shipped organisations (routing is checked against them).
fn shipped() -> ReferralRules {
    let files = ContentFiles::read(&content());
    let orgs: HashSet<String> = files
        .organisations
        .into_iter()
        .map(|o| o.expect("organisation file").value.slug)
        .collect();
    ReferralRules::load(&content(), &orgs, |_| Some(1)).expect("content/referrals loads")
}

struct Labelled {
    line: usize,
    /// The `#batch NAME` the message is under ("first" before any).
    batch: String,
    urgent: bool,
    category: String,
    message: String,
}

fn corpus() -> Vec<Labelled> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/triage/messages.tsv");
    let text = std::fs::read_to_string(&path).expect("read the corpus");
    let mut out = Vec::new();
    let mut batch = "first".to_string();
    for (i, line) in text.lines().enumerate() {
        if let Some(name) = line.strip_prefix("#batch ") {
            batch = name.trim().to_string();
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "line {}: label, category, message", i + 1);
        let urgent = match cols[0] {
            "urgent" => true,
            "routine" => false,
            other => panic!("line {}: label {other:?}", i + 1),
        };
        out.push(Labelled {
            line: i + 1,
            batch: batch.clone(),
            urgent,
            category: cols[1].to_string(),
            message: cols[2].to_string(),
        });
    }
    out
}

#[test]
fn corpus_recall_and_false_alarms() {
    let rules = shipped();
    let corpus = corpus();
    let urgent_total = corpus.iter().filter(|m| m.urgent).count();
    let routine_total = corpus.len() - urgent_total;
    let false_alarm_category = corpus
        .iter()
        .filter(|m| m.category == "false-alarm")
        .count();
    assert!(corpus.len() >= 300, "{} messages", corpus.len());
    assert!(urgent_total >= 120, "{urgent_total} urgent");
    assert!(
        false_alarm_category >= 60,
        "{false_alarm_category} false-alarm"
    );

    let mut misses = Vec::new();
    let mut false_alarms = Vec::new();
    // category → (messages, triaged urgent)
    let mut by_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    // batch, in file order → (urgent, urgent caught, routine, routine flagged)
    let mut by_batch: Vec<(&str, [usize; 4])> = Vec::new();
    for m in &corpus {
        let t = rules.triage(&m.message, &[]);
        let entry = by_category.entry(m.category.as_str()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(t.urgent);
        if by_batch.last().is_none_or(|(name, _)| *name != m.batch) {
            by_batch.push((m.batch.as_str(), [0; 4]));
        }
        let Some((_, b)) = by_batch.last_mut() else {
            unreachable!()
        };
        if m.urgent {
            b[0] += 1;
            b[1] += usize::from(t.urgent);
        } else {
            b[2] += 1;
            b[3] += usize::from(t.urgent);
        }
        if m.urgent && !t.urgent {
            misses.push(m);
        }
        if !m.urgent && t.urgent {
            false_alarms.push((m, t.matched));
        }
    }
    let recall = 1.0 - misses.len() as f64 / urgent_total as f64;
    let false_alarm_rate = false_alarms.len() as f64 / routine_total as f64;

    println!(
        "triage on tests/triage/messages.tsv ({} messages)",
        corpus.len()
    );
    println!(
        "urgent recall: {:.1} % ({} of {urgent_total} urgent messages triaged urgent)",
        recall * 100.0,
        urgent_total - misses.len()
    );
    println!(
        "false alarms: {:.1} % ({} of {routine_total} routine messages triaged urgent)",
        false_alarm_rate * 100.0,
        false_alarms.len()
    );
    println!("by batch:");
    for (name, [u, caught, r, flagged]) in &by_batch {
        println!(
            "  {name:<10} recall {:.1} % ({caught}/{u}), false alarms {:.1} % ({flagged}/{r})",
            100.0 * *caught as f64 / *u as f64,
            100.0 * *flagged as f64 / *r as f64
        );
    }
    println!("by category (messages, triaged urgent):");
    for (c, (n, u)) in &by_category {
        println!("  {c:<14} {n:>4} {u:>4}");
    }
    println!("misses ({}):", misses.len());
    for m in &misses {
        println!(
            "  line {} [{}, {}] {}",
            m.line, m.batch, m.category, m.message
        );
    }
    println!("false alarms ({}):", false_alarms.len());
    for (m, matched) in &false_alarms {
        println!(
            "  line {} [{}, {}] {}  <- {}",
            m.line,
            m.batch,
            m.category,
            m.message,
            matched.join(", ")
        );
    }

    assert!(
        recall >= MIN_RECALL,
        "urgent recall {:.1} % is under {:.0} %",
        recall * 100.0,
        MIN_RECALL * 100.0
    );
    assert!(
        false_alarm_rate <= MAX_FALSE_ALARM_RATE,
        "false-alarm rate {:.1} % is over {:.0} %",
        false_alarm_rate * 100.0,
        MAX_FALSE_ALARM_RATE * 100.0
    );
}

/// Typo tolerance must not misread real words: every word of the articles, the
/// organisations, the docs and the routine messages of the corpus is checked, and any
/// word read as a typo of a listed word fails the test (list it in `[typos] real_words`
/// of the content file, or reword the phrase).
#[test]
fn typo_tolerance_leaves_real_words_alone() {
    let rules = shipped();
    let mut text = String::new();
    let mut stack = vec![
        content(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md" || e == "toml")
                && !path.ends_with("urgent_words.toml")
                && !path.ends_with("TRIAGE.md")
            {
                text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                text.push('\n');
            }
        }
    }
    for m in corpus().iter().filter(|m| !m.urgent) {
        text.push_str(&m.message);
        text.push('\n');
    }
    let vocabulary: std::collections::BTreeSet<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 5 && w.chars().all(|c| c.is_alphabetic()))
        .map(str::to_lowercase)
        .collect();
    let misread: Vec<String> = vocabulary
        .iter()
        .filter_map(|w| {
            let r = rules.urgent_words.typo_readings(w);
            (!r.is_empty()).then(|| format!("{w} (read as {})", r.join(", ")))
        })
        .collect();
    println!("{} words checked for typo misreadings", vocabulary.len());
    assert!(misread.is_empty(), "real words read as typos: {misread:#?}");
}

#[test]
fn explain() {
    let Ok(message) = std::env::var("TRIAGE_MESSAGE") else {
        return;
    };
    let rules = shipped();
    let t = rules.triage(&message, &[]);
    println!("words: {:?}", rules.urgent_words.words(&message));
    println!("{t:#?}");
}

#[test]
fn the_issue_examples_are_urgent_and_the_ordinary_ones_are_not() {
    let rules = shipped();
    for m in [
        "people round me carrying weapons",
        "i just want to kms",
        "thinking about how to unalive myself",
        "i cut myself again",
        "i keep hurting myself",
        "they want me going country next week",
        "my friend got STABBED.",
        "I want to kill myself",
    ] {
        assert!(rules.has_urgent_words(m), "{m}");
    }
    for m in [
        "my mum's going to kill me",
        "i shot it on my phone",
        "football shooting practice",
        "Football at Gunnersbury, skills training",
        "hello",
    ] {
        assert!(!rules.has_urgent_words(m), "{m}");
    }
}

#[test]
fn needs_add_urgency_and_topics() {
    let rules = shipped();
    let self_harm = rules
        .needs
        .iter()
        .find(|n| n.topics.iter().any(|t| t == "self-harm"))
        .expect("a self-harm need");
    assert!(self_harm.urgent);
    assert!(self_harm.topics.iter().any(|t| t == "suicide"));
    let t = rules.triage("hi", std::slice::from_ref(&self_harm.slug));
    assert!(t.urgent && t.matched.is_empty());
    assert!(t.topics.contains("self-harm") && t.topics.contains("suicide"));

    // Topics from the message and from the needs together.
    let t = rules.triage(
        "someone leaked my nudes",
        &["family".to_string(), "nope".to_string()],
    );
    assert!(t.urgent);
    assert!(t.topics.contains("online-images"), "{t:?}");
    assert!(!t.matched.is_empty());

    let t = rules.triage("is there football near me", &["activities".to_string()]);
    assert!(!t.urgent && t.matched.is_empty(), "{t:?}");
}

#[test]
fn every_topic_is_from_the_fixed_list() {
    let rules = shipped();
    let topics: HashSet<&str> = signpost::referrals::triage::TOPICS
        .iter()
        .copied()
        .collect();
    for n in &rules.needs {
        for t in &n.topics {
            assert!(topics.contains(t.as_str()), "{}: {t}", n.slug);
        }
    }
}
