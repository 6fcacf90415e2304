//! Word-prefix text index over the directory. Every query word must match the start of
//! some word in a service (case-insensitive); hits in the name weigh most.
use super::snapshot::{Organisation, Service, Term};

/// Weight of a hit by field: a name hit outranks everything else.
const W_NAME: u16 = 64;
const W_ORGANISATION: u16 = 16;
const W_CATEGORY: u16 = 8;
const W_SUMMARY: u16 = 4;
const W_DESCRIPTION: u16 = 1;

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    weight: u16,
}

#[derive(Debug, Default)]
pub struct TextIndex {
    /// Sorted by term; each term's postings sorted by doc, one per doc (its best field).
    terms: Vec<(Box<str>, Vec<Posting>)>,
    docs: usize,
}

/// Splits text into lowercase words; apostrophes join (`King's` → `kings`).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
}

impl TextIndex {
    pub fn build(services: &[Service], orgs: &[Organisation], categories: &[Term]) -> Self {
        let mut pairs: Vec<(String, u32, u16)> = Vec::new();
        for (doc, s) in services.iter().enumerate() {
            let doc = doc as u32;
            let mut add = |text: &str, weight: u16| {
                for w in words(text) {
                    pairs.push((w, doc, weight));
                }
            };
            add(&s.name, W_NAME);
            add(&orgs[s.organisation].name, W_ORGANISATION);
            for &c in &s.categories {
                add(&categories[c].name, W_CATEGORY);
                add(&categories[c].slug, W_CATEGORY);
            }
            add(&s.summary, W_SUMMARY);
            add(&s.description, W_DESCRIPTION);
        }
        // Sort by term, doc, and best weight first; keep one posting per (term, doc).
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
        pairs.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        let mut terms: Vec<(Box<str>, Vec<Posting>)> = Vec::new();
        for (term, doc, weight) in pairs {
            match terms.last_mut() {
                Some((t, list)) if **t == *term => list.push(Posting { doc, weight }),
                _ => terms.push((term.into_boxed_str(), vec![Posting { doc, weight }])),
            }
        }
        Self {
            terms,
            docs: services.len(),
        }
    }

    /// Scores every service against the query: `None` for a service that misses any
    /// query word. Returns (doc, score) pairs.
    pub fn search(&self, query: &str) -> Vec<(usize, u32)> {
        let tokens: Vec<String> = {
            let mut t: Vec<String> = words(query).collect();
            t.sort();
            t.dedup();
            t
        };
        if tokens.is_empty() {
            return Vec::new();
        }
        let mut scores = vec![0u32; self.docs];
        let mut matched = vec![0u8; self.docs];
        // This round's weight per doc, so a better term for the same word can replace it.
        let mut round_weight = vec![0u32; self.docs];
        for (round, token) in tokens.iter().enumerate() {
            let round = round as u8;
            let start = self.terms.partition_point(|(t, _)| &**t < token.as_str());
            for (term, postings) in self.terms[start..]
                .iter()
                .take_while(|(t, _)| t.starts_with(token.as_str()))
            {
                let exact = **term == **token;
                for p in postings {
                    let d = p.doc as usize;
                    // Only docs that matched every earlier word stay in the race.
                    if matched[d] < round {
                        continue;
                    }
                    let w = u32::from(p.weight) * if exact { 2 } else { 1 };
                    if matched[d] == round {
                        matched[d] = round + 1;
                        scores[d] += w;
                        round_weight[d] = w;
                    } else if w > round_weight[d] {
                        // Another term with the same prefix: keep the best weight only.
                        scores[d] += w - round_weight[d];
                        round_weight[d] = w;
                    }
                }
            }
        }
        let need = tokens.len() as u8;
        matched
            .iter()
            .enumerate()
            .filter(|(_, m)| **m == need)
            .map(|(d, _)| (d, scores[d]))
            .collect()
    }

    /// True when the query has at least one word to search for.
    pub fn has_words(query: &str) -> bool {
        words(query).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_and_apostrophes() {
        let w: Vec<String> = words("King's College, A&E — Boxing!").collect();
        assert_eq!(w, ["kings", "college", "a", "e", "boxing"]);
        let w: Vec<String> = words("St George\u{2019}s").collect();
        assert_eq!(w, ["st", "georges"]);
    }
}
