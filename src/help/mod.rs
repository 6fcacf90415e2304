//! Crisis and help lines: `content/help.toml`, served at `GET /v1/help` and carried in
//! every referral answer, ordered by what the young person said ([`ordered_for`]).
use std::collections::BTreeSet;
use std::path::Path;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::content::files::{ContentError, Parsed, parse_toml};
use crate::state::AppState;

/// What a help line helps with, and what triage finds in a young person's message: the
/// one fixed vocabulary both sides use. `help.toml` may tag a line with these words only.
pub const TOPICS: &[&str] = &[
    "suicide",
    "self-harm",
    "mental-health",
    "weapons",
    "violence",
    "exploitation",
    "online-images",
    "abuse",
    "home",
    "crime",
    "drugs",
    "bereavement",
];

/// Topics that bring a group of lines straight after 999, in this order: when the young
/// person's topics include any of the first words, the lines whose *first* topic is the
/// second word come next (the suicide lines for suicide or self-harm; Report Remove for a
/// shared image).
const LEAD_AFTER_999: &[(&[&str], &str)] = &[
    (&["suicide", "self-harm"], "suicide"),
    (&["online-images"], "online-images"),
];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpLine {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    /// Number to text.
    pub sms: Option<String>,
    /// What to text to `sms`, where the line asks for a word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textphone: Option<String>,
    pub url: Option<String>,
    pub hours: Option<String>,
    pub when_to_use: String,
    /// A crisis line: first in an urgent referral's answer.
    pub urgent: bool,
    /// What the line helps with, its main topic first. Each is one of `suicide`,
    /// `self-harm`, `mental-health`, `weapons`, `violence`, `exploitation`,
    /// `online-images`, `abuse`, `home`, `crime`, `drugs`, `bereavement`: the same
    /// words triage gives a referral, so the app can put the lines that fit first.
    /// Empty for a line that is for anything (999, police 101).
    #[serde(default)]
    #[schema(example = json!(["suicide", "self-harm", "mental-health"]))]
    pub topics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HelpDoc {
    line: Vec<HelpLine>,
}

pub const FILE: &str = "help.toml";

/// Loads and checks the help lines: each reachable somehow, ids unique, topics from
/// [`TOPICS`] (each once), 999 first.
pub fn load(content_dir: &Path) -> Result<Vec<HelpLine>, ContentError> {
    let text = std::fs::read_to_string(content_dir.join(FILE)).map_err(|e| ContentError {
        file: FILE.into(),
        line: 1,
        field: "(file)".into(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&text)
}

fn parse(text: &str) -> Result<Vec<HelpLine>, ContentError> {
    let doc: HelpDoc = parse_toml(FILE, text)?;
    let parsed = Parsed {
        file: FILE.to_string(),
        text: text.to_string(),
        value: doc.line,
    };
    let mut seen = std::collections::HashSet::new();
    for (i, l) in parsed.value.iter().enumerate() {
        let at = Some(("line", i));
        if !seen.insert(l.id.clone()) {
            return Err(parsed.error_at(at, "id", format!("{} is listed twice", l.id)));
        }
        if l.phone.is_none() && l.sms.is_none() && l.url.is_none() {
            return Err(parsed.error_at(at, "phone", "give a phone, sms or url"));
        }
        let mut topics = BTreeSet::new();
        for t in &l.topics {
            if !TOPICS.contains(&t.as_str()) {
                return Err(parsed.error_at(
                    at,
                    "topics",
                    format!("{t:?} is not one of {}", TOPICS.join(", ")),
                ));
            }
            if !topics.insert(t.as_str()) {
                return Err(parsed.error_at(at, "topics", format!("{t:?} is listed twice")));
            }
        }
    }
    if parsed.value.first().and_then(|l| l.phone.as_deref()) != Some("999") {
        return Err(parsed.error_at(Some(("line", 0)), "phone", "the first line must be 999"));
    }
    Ok(parsed.value)
}

/// The lines in the order to show them; crisis lines first when `urgent`.
pub fn ordered(lines: &[HelpLine], urgent: bool) -> Vec<HelpLine> {
    ordered_for(lines, urgent, &BTreeSet::new())
}

/// The lines in the order to show a young person who spoke of `topics` (words from
/// [`TOPICS`]; others are ignored). Every line appears exactly once:
///
/// 1. 999;
/// 2. for suicide or self-harm, the suicide lines (first topic `suicide`); then, for
///    `online-images`, the lines whose first topic that is (Report Remove);
/// 3. the other lines sharing a topic: more shared topics first, then those whose shared
///    topic comes earlier in their own list, then file order;
/// 4. when `urgent`, the other crisis lines;
/// 5. the rest, in file order.
///
/// With no topics this is [`ordered`].
pub fn ordered_for(lines: &[HelpLine], urgent: bool, topics: &BTreeSet<String>) -> Vec<HelpLine> {
    let mut placed = vec![false; lines.len()];
    let mut order: Vec<usize> = Vec::with_capacity(lines.len());
    let mut take = |i: usize, order: &mut Vec<usize>| {
        if !placed[i] {
            placed[i] = true;
            order.push(i);
        }
    };
    if let Some(i) = lines.iter().position(|l| l.phone.as_deref() == Some("999")) {
        take(i, &mut order);
    }
    for (triggers, lead) in LEAD_AFTER_999 {
        if triggers.iter().any(|t| topics.contains(*t)) {
            for (i, l) in lines.iter().enumerate() {
                if l.topics.first().map(String::as_str) == Some(*lead) {
                    take(i, &mut order);
                }
            }
        }
    }
    let mut sharing: Vec<(usize, usize, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let positions: Vec<usize> = l
                .topics
                .iter()
                .enumerate()
                .filter(|(_, t)| topics.contains(*t))
                .map(|(p, _)| p)
                .collect();
            let first = *positions.first()?;
            Some((i, positions.len(), first))
        })
        .collect();
    sharing.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    for (i, _, _) in sharing {
        take(i, &mut order);
    }
    if urgent {
        for (i, l) in lines.iter().enumerate() {
            if l.urgent {
                take(i, &mut order);
            }
        }
    }
    for i in 0..lines.len() {
        take(i, &mut order);
    }
    order.into_iter().map(|i| lines[i].clone()).collect()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_help))
}

/// Crisis and help lines, in the order to show them (999 first).
#[utoipa::path(get, path = "/v1/help", tag = "content",
    responses((status = 200, body = Vec<HelpLine>)))]
async fn list_help(State(state): State<AppState>) -> Json<Vec<HelpLine>> {
    Json(state.catalogue.load().help.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<HelpLine> {
        load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("content")).unwrap()
    }

    fn topics(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn ids(lines: &[HelpLine]) -> Vec<&str> {
        lines.iter().map(|l| l.id.as_str()).collect()
    }

    fn line(id: &str, phone: &str, urgent: bool, topics: &[&str]) -> HelpLine {
        HelpLine {
            id: id.into(),
            name: id.into(),
            phone: Some(phone.into()),
            sms: None,
            sms_body: None,
            textphone: None,
            url: None,
            hours: None,
            when_to_use: "w".into(),
            urgent,
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// Each line once, none lost, none added.
    fn assert_permutation(all: &[HelpLine], got: &[HelpLine]) {
        let mut a = ids(all);
        let mut b = ids(got);
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
    }

    #[test]
    fn shipped_lines_load_with_999_first() {
        let lines = shipped();
        assert_eq!(lines[0].phone.as_deref(), Some("999"));
        assert!(lines.iter().any(|l| l.id == "childline"));
        let urgent = ordered(&lines, true);
        let first_routine = urgent.iter().position(|l| !l.urgent).unwrap();
        assert!(urgent[first_routine..].iter().all(|l| !l.urgent));
        assert_eq!(urgent[0].id, "emergency");
        for id in ["nhs-111-mental-health", "papyrus", "report-remove"] {
            assert!(lines.iter().any(|l| l.id == id), "{id}");
        }
        for l in &lines {
            assert!(l.topics.iter().all(|t| TOPICS.contains(&t.as_str())));
        }
        // Every topic triage can give has a line besides 999.
        for t in TOPICS {
            assert!(
                lines.iter().any(|l| l.topics.iter().any(|x| x == t)),
                "no line for {t}"
            );
        }
    }

    #[test]
    fn no_topics_is_the_plain_order() {
        let lines = shipped();
        for urgent in [false, true] {
            assert_eq!(
                ids(&ordered_for(&lines, urgent, &BTreeSet::new())),
                ids(&ordered(&lines, urgent))
            );
        }
        assert_eq!(ids(&ordered(&lines, false)), ids(&lines), "file order");
        // Words outside the vocabulary change nothing.
        assert_eq!(
            ids(&ordered_for(&lines, true, &topics(&["football"]))),
            ids(&ordered(&lines, true))
        );
    }

    #[test]
    fn self_harm_and_suicide_put_the_suicide_lines_right_after_999() {
        let lines = shipped();
        for words in [
            &["self-harm"][..],
            &["suicide"],
            &["suicide", "self-harm"],
            &["self-harm", "crime"],
        ] {
            for urgent in [false, true] {
                let got = ordered_for(&lines, urgent, &topics(words));
                assert_permutation(&lines, &got);
                assert_eq!(
                    ids(&got)[..4],
                    ["emergency", "samaritans", "papyrus", "shout"],
                    "{words:?} urgent={urgent}"
                );
            }
        }
        // After them, the other lines that share the topic, the closest fit first.
        let got = ordered_for(&lines, false, &topics(&["self-harm"]));
        assert_eq!(ids(&got)[4..6], ["nhs-111-mental-health", "childline"]);
        // Then, not urgent: the rest in file order.
        let rest: Vec<&str> = ids(&lines)
            .into_iter()
            .filter(|id| !ids(&got)[..6].contains(id))
            .collect();
        assert_eq!(ids(&got)[6..], rest[..]);
    }

    #[test]
    fn a_shared_image_puts_report_remove_right_after_999() {
        let lines = shipped();
        let got = ordered_for(&lines, false, &topics(&["online-images"]));
        assert_permutation(&lines, &got);
        assert_eq!(ids(&got)[..3], ["emergency", "report-remove", "childline"]);
        // With thoughts of suicide too: the suicide lines, then Report Remove.
        let got = ordered_for(&lines, true, &topics(&["online-images", "suicide"]));
        assert_permutation(&lines, &got);
        assert_eq!(
            ids(&got)[..5],
            [
                "emergency",
                "samaritans",
                "papyrus",
                "shout",
                "report-remove"
            ]
        );
    }

    #[test]
    fn weapons_bring_the_anonymous_crime_lines_then_crisis_lines_when_urgent() {
        let lines = shipped();
        let got = ordered_for(&lines, true, &topics(&["weapons"]));
        assert_permutation(&lines, &got);
        assert_eq!(ids(&got)[..3], ["emergency", "fearless", "crimestoppers"]);
        // Then the crisis lines, then the rest; 999 never repeated.
        let crisis: Vec<&str> = lines
            .iter()
            .filter(|l| l.urgent && l.id != "emergency")
            .map(|l| l.id.as_str())
            .collect();
        assert_eq!(ids(&got)[3..3 + crisis.len()], crisis[..]);
        assert!(got[3 + crisis.len()..].iter().all(|l| !l.urgent));
        // Not urgent: the rest stays in file order, crisis lines included.
        let calm = ordered_for(&lines, false, &topics(&["weapons"]));
        assert_eq!(ids(&calm)[1], "fearless");
        assert_eq!(ids(&calm)[3], "childline");
    }

    #[test]
    fn more_shared_topics_then_earlier_listed_then_file_order() {
        let lines = vec![
            line("e", "999", true, &[]),
            line("late", "1", false, &["home", "crime", "abuse"]),
            line("one", "2", false, &["abuse"]),
            line("two", "3", false, &["crime", "abuse"]),
            line("crisis", "4", true, &[]),
            line("none", "5", false, &["drugs"]),
            line("also-one", "6", false, &["abuse"]),
        ];
        let got = ordered_for(&lines, true, &topics(&["abuse", "crime"]));
        assert_eq!(
            ids(&got),
            ["e", "two", "late", "one", "also-one", "crisis", "none"]
        );
        // One shared topic each: the lines that list it first come first.
        let got = ordered_for(&lines, false, &topics(&["abuse"]));
        assert_eq!(
            ids(&got),
            ["e", "one", "also-one", "two", "late", "crisis", "none"]
        );
    }

    #[test]
    fn every_line_appears_once_for_any_two_topics() {
        let lines = shipped();
        for a in TOPICS {
            for b in TOPICS {
                for urgent in [false, true] {
                    let got = ordered_for(&lines, urgent, &topics(&[a, b]));
                    assert_permutation(&lines, &got);
                    assert_eq!(got[0].id, "emergency");
                }
            }
        }
    }

    #[test]
    fn an_unknown_or_repeated_topic_is_a_content_error() {
        let text = "[[line]]\nid = \"e\"\nname = \"E\"\nphone = \"999\"\nwhen_to_use = \"w\"\nurgent = true\n\n[[line]]\nid = \"x\"\nname = \"X\"\nphone = \"1\"\nwhen_to_use = \"w\"\nurgent = false\ntopics = [\"crime\", \"knives\"]\n";
        let e = parse(text).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.field.as_str()),
            ("help.toml", 14, "topics")
        );
        assert!(e.message.contains("\"knives\""), "{e}");
        let e = parse(&text.replace("\"knives\"", "\"crime\"")).unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        assert!(parse(&text.replace("\"knives\"", "\"weapons\"")).is_ok());
    }
}
