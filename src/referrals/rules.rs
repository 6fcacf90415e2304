//! The referral rules in `content/referrals/`: needs, words that make a referral urgent,
//! and where each referral goes.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use super::triage::Triage;
use super::triage::{Matcher, TOPICS, is_topic};
use crate::content::files::{ContentError, Parsed, parse_toml};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Need {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub urgent: bool,
    /// Topics from [`TOPICS`]: what the need is about (help lines are ordered by them).
    #[serde(default)]
    pub topics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeedsDoc {
    need: Vec<Need>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub organisation: String,
    pub needs: Vec<String>,
    #[serde(default)]
    pub boroughs: Vec<String>,
    pub min_age: Option<u8>,
    pub max_age: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingDoc {
    duty_team: String,
    #[serde(default)]
    rule: Vec<RuleFile>,
}

/// A routing rule with its boroughs resolved to GSS ids (`None` = anywhere).
#[derive(Debug, Clone)]
pub struct Rule {
    pub organisation: String,
    pub needs: HashSet<String>,
    pub boroughs: Option<HashSet<i32>>,
    pub min_age: Option<u8>,
    pub max_age: Option<u8>,
}

#[derive(Debug, Clone)]
pub struct ReferralRules {
    pub needs: Vec<Need>,
    /// The phrase lists of `urgent_words.toml`.
    pub urgent_words: Matcher,
    pub duty_team: String,
    pub rules: Vec<Rule>,
}

fn read(dir: &Path, rel: &str) -> Result<String, ContentError> {
    std::fs::read_to_string(dir.join(rel)).map_err(|e| ContentError {
        file: rel.to_string(),
        line: 1,
        field: "(file)".into(),
        message: format!("cannot read: {e}"),
    })
}

impl ReferralRules {
    /// Loads the three files and checks every reference: organisations against
    /// `organisations` (slugs known to the directory), boroughs against `borough_id`.
    pub fn load(
        content_dir: &Path,
        organisations: &HashSet<String>,
        borough_id: impl Fn(&str) -> Option<i32>,
    ) -> Result<Self, ContentError> {
        let file = "referrals/needs.toml";
        let text = read(content_dir, file)?;
        let needs = Parsed {
            file: file.into(),
            value: parse_toml::<NeedsDoc>(file, &text)?.need,
            text,
        };
        let mut slugs = HashSet::new();
        for (i, n) in needs.value.iter().enumerate() {
            if !slugs.insert(n.slug.clone()) {
                return Err(needs.error_at(
                    Some(("need", i)),
                    "slug",
                    format!("{} is listed twice", n.slug),
                ));
            }
            if let Some(t) = n.topics.iter().find(|t| !is_topic(t)) {
                return Err(needs.error_at(
                    Some(("need", i)),
                    "topics",
                    format!("unknown topic {t:?}; use one of: {}", TOPICS.join(", ")),
                ));
            }
        }

        let file = "referrals/urgent_words.toml";
        let urgent_words = Matcher::parse(file, &read(content_dir, file)?)?;

        let file = "referrals/routing.toml";
        let text = read(content_dir, file)?;
        let doc = parse_toml::<RoutingDoc>(file, &text)?;
        let routing = Parsed {
            file: file.into(),
            text,
            value: doc.rule,
        };
        if !organisations.contains(&doc.duty_team) {
            return Err(routing.error_at(
                None,
                "duty_team",
                format!("unknown organisation {:?}", doc.duty_team),
            ));
        }
        let mut rules = Vec::new();
        for (i, r) in routing.value.iter().enumerate() {
            let at = Some(("rule", i));
            if !organisations.contains(&r.organisation) {
                return Err(routing.error_at(
                    at,
                    "organisation",
                    format!("unknown organisation {:?}", r.organisation),
                ));
            }
            if r.needs.is_empty() {
                return Err(routing.error_at(at, "needs", "list at least one need"));
            }
            for n in &r.needs {
                if !slugs.contains(n) {
                    return Err(routing.error_at(at, "needs", format!("unknown need {n:?}")));
                }
            }
            let boroughs = if r.boroughs.is_empty() || r.boroughs.iter().any(|b| b == "all") {
                None
            } else {
                let mut ids = HashSet::new();
                for b in &r.boroughs {
                    match borough_id(b) {
                        Some(id) => {
                            ids.insert(id);
                        }
                        None => {
                            return Err(routing.error_at(
                                at,
                                "boroughs",
                                format!("unknown borough {b:?}"),
                            ));
                        }
                    }
                }
                Some(ids)
            };
            if let (Some(lo), Some(hi)) = (r.min_age, r.max_age)
                && lo > hi
            {
                return Err(routing.error_at(at, "max_age", "must not be less than min_age"));
            }
            rules.push(Rule {
                organisation: r.organisation.clone(),
                needs: r.needs.iter().cloned().collect(),
                boroughs,
                min_age: r.min_age,
                max_age: r.max_age,
            });
        }
        Ok(Self {
            needs: needs.value,
            urgent_words,
            duty_team: doc.duty_team,
            rules,
        })
    }

    pub fn need(&self, slug: &str) -> Option<&Need> {
        self.needs.iter().find(|n| n.slug == slug)
    }

    /// The organisation slug for a referral, by the first matching rule, else the duty team.
    pub fn route(&self, needs: &[String], borough: Option<i32>, age: Option<u8>) -> &str {
        self.rules
            .iter()
            .find(|r| {
                needs.iter().any(|n| r.needs.contains(n))
                    && r.boroughs
                        .as_ref()
                        .is_none_or(|set| borough.is_some_and(|b| set.contains(&b)))
                    && r.min_age.is_none_or(|lo| age.is_some_and(|a| a >= lo))
                    && r.max_age.is_none_or(|hi| age.is_some_and(|a| a <= hi))
            })
            .map_or(self.duty_team.as_str(), |r| r.organisation.as_str())
    }

    /// Triage of a referral: urgent when a phrase of an urgent group of
    /// `urgent_words.toml` is in the message or a chosen need is urgent (the caller adds
    /// "in danger now"); the phrases that matched; the topics of the matched groups and
    /// of the chosen needs. Unknown need slugs are ignored.
    pub fn triage(&self, message: &str, needs: &[String]) -> Triage {
        let mut t = self.urgent_words.scan(message);
        for need in needs.iter().filter_map(|n| self.need(n)) {
            t.urgent |= need.urgent;
            t.topics.extend(need.topics.iter().cloned());
        }
        t
    }

    /// True when the message alone would make a referral urgent (see [`Self::triage`]).
    pub fn has_urgent_words(&self, message: &str) -> bool {
        self.urgent_words.scan(message).urgent
    }

    pub fn need_names(&self) -> HashMap<&str, &str> {
        self.needs
            .iter()
            .map(|n| (n.slug.as_str(), n.name.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> ReferralRules {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let orgs: HashSet<String> = ["safer-london", "signpost-duty-team"]
            .map(String::from)
            .into();
        ReferralRules::load(&dir, &orgs, |_| Some(1)).unwrap()
    }

    #[test]
    fn urgent_words_match_words_and_their_forms_any_case() {
        let r = shipped();
        assert!(r.has_urgent_words("my mate got STABBED last night"));
        assert!(r.has_urgent_words("I want to kill myself"));
        assert!(r.has_urgent_words("Kill. Myself."));
        assert!(r.has_urgent_words("they carry weapons"));
        assert!(r.has_urgent_words("kms"));
        assert!(!r.has_urgent_words("I like gunnersbury park and skills"));
        assert!(!r.has_urgent_words("kill the boredom, myself included"));
    }

    #[test]
    fn triage_joins_the_message_and_the_needs() {
        let r = shipped();
        let t = r.triage("i want to unalive myself", &["activities".into()]);
        assert!(t.urgent);
        assert!(t.topics.contains("suicide"));
        assert!(t.matched.iter().any(|m| m == "unalive"));
        let t = r.triage("hello", &["self-harm".into()]);
        assert!(t.urgent && t.matched.is_empty());
        assert!(t.topics.contains("self-harm") && t.topics.contains("suicide"));
        let t = r.triage("hello", &["knife-crime".into()]);
        assert!(!t.urgent);
        assert_eq!(t.topics.iter().collect::<Vec<_>>(), ["weapons"]);
    }

    #[test]
    fn routes_by_first_matching_rule() {
        let r = shipped();
        let needs = vec!["gang-exit".to_string()];
        // The exploitation service (VESS) supports children and young people up to 25.
        for age in [10, 14, 15, 17, 24, 25] {
            assert_eq!(
                r.route(&needs, Some(12), Some(age)),
                "safer-london",
                "{age}"
            );
        }
        assert_eq!(r.route(&needs, None, Some(17)), "safer-london");
        assert_eq!(
            r.route(&["exploitation".into()], Some(12), Some(13)),
            "safer-london"
        );
        // No age given: the duty team reads it first.
        assert_eq!(r.route(&needs, Some(12), None), "signpost-duty-team");
        // Knife worries are not sent to the exploitation specialist by default.
        assert_eq!(
            r.route(&["knife-crime".into()], Some(12), Some(17)),
            "signpost-duty-team"
        );
        // Mental health and self-harm: the mental-health route (the duty team for now).
        for need in ["mental-health", "self-harm"] {
            assert_eq!(
                r.route(&[need.into()], Some(12), Some(15)),
                "signpost-duty-team"
            );
        }
        assert_eq!(
            r.route(&["activities".into()], Some(12), Some(17)),
            "signpost-duty-team"
        );
    }

    #[test]
    fn needs_keep_their_slugs_and_name_topics() {
        let r = shipped();
        for slug in [
            "feeling-unsafe",
            "gang-exit",
            "knife-crime",
            "exploitation",
            "mental-health",
            "education-employment",
            "activities",
            "family",
            "other",
            "self-harm",
            "online-harm",
            "not-safe-at-home",
            "somewhere-to-stay",
            "drugs-alcohol",
            "police-court",
            "bereavement",
        ] {
            assert!(r.need(slug).is_some(), "{slug}");
        }
        assert!(r.need("self-harm").is_some_and(|n| n.urgent));
        // No need is named after a label ("gang exit").
        assert!(
            r.needs
                .iter()
                .all(|n| !n.name.to_lowercase().contains("gang exit"))
        );
        assert!(
            r.need("exploitation")
                .is_some_and(|n| n.description.contains("sexual exploitation"))
        );
    }

    #[test]
    fn unknown_topics_are_refused_with_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("content/referrals");
        std::fs::create_dir_all(dir.path().join("referrals")).unwrap();
        for f in ["urgent_words.toml", "routing.toml"] {
            std::fs::copy(src.join(f), dir.path().join("referrals").join(f)).unwrap();
        }
        let needs = std::fs::read_to_string(src.join("needs.toml"))
            .unwrap()
            .replacen("topics = [\"weapons\"]", "topics = [\"knives\"]", 1);
        std::fs::write(dir.path().join("referrals/needs.toml"), &needs).unwrap();
        let orgs: HashSet<String> = ["safer-london", "signpost-duty-team"]
            .map(String::from)
            .into();
        let e = ReferralRules::load(dir.path(), &orgs, |_| Some(1)).unwrap_err();
        assert_eq!(e.file, "referrals/needs.toml");
        assert_eq!(e.field, "topics");
        let line = needs
            .lines()
            .position(|l| l.contains("\"knives\""))
            .unwrap()
            + 1;
        assert_eq!(e.line, line, "{e}");
    }
}
