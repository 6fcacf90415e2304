//! The referral rules in `content/referrals/`: needs, words that make a referral urgent,
//! and where each referral goes.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::content::files::{ContentError, Parsed, parse_toml};
use crate::directory::index::words as index_words;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Need {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub urgent: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeedsDoc {
    need: Vec<Need>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsDoc {
    phrases: Vec<String>,
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
    /// Each phrase as its words.
    pub urgent_phrases: Vec<Vec<String>>,
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
        }

        let file = "referrals/urgent_words.toml";
        let text = read(content_dir, file)?;
        let words = parse_toml::<WordsDoc>(file, &text)?;
        let urgent_phrases: Vec<Vec<String>> = words
            .phrases
            .iter()
            .map(|p| index_words(p).collect::<Vec<_>>())
            .filter(|w| !w.is_empty())
            .collect();

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
            urgent_phrases,
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

    /// True when the message holds any urgent phrase, as whole words.
    pub fn has_urgent_words(&self, message: &str) -> bool {
        let words: Vec<String> = index_words(message).collect();
        self.urgent_phrases.iter().any(|phrase| {
            words
                .windows(phrase.len())
                .any(|w| w.iter().zip(phrase).all(|(a, b)| a == b))
        })
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
    fn urgent_words_match_whole_words_any_case() {
        let r = shipped();
        assert!(r.has_urgent_words("my mate got STABBED last night"));
        assert!(r.has_urgent_words("I want to kill myself"));
        assert!(r.has_urgent_words("Kill. Myself."));
        assert!(!r.has_urgent_words("I like gunnersbury park and skills"));
        assert!(!r.has_urgent_words("kill the boredom, myself included"));
    }

    #[test]
    fn routes_by_first_matching_rule() {
        let r = shipped();
        let needs = vec!["gang-exit".to_string()];
        assert_eq!(r.route(&needs, Some(12), Some(17)), "safer-london");
        assert_eq!(r.route(&needs, None, Some(17)), "safer-london");
        assert_eq!(r.route(&needs, Some(12), Some(15)), "signpost-duty-team");
        assert_eq!(r.route(&needs, Some(12), None), "signpost-duty-team");
        assert_eq!(
            r.route(&["activities".into()], Some(12), Some(17)),
            "signpost-duty-team"
        );
    }
}
