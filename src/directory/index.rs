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
        Self::from_pairs(pairs, services.len())
    }

    /// From (word, doc, weight) triples, in any order and with repeats.
    fn from_pairs(mut pairs: Vec<(String, u32, u16)>, docs: usize) -> Self {
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
        Self { terms, docs }
    }

    /// Scores every service against the query; a service must match every query word.
    /// Returns (doc, score) pairs in doc order (services are stored in name order).
    ///
    /// Works on sorted posting lists, so a query costs what it matches rather than the
    /// size of the directory: each word's matches (over every term it is a prefix of, best
    /// weight per doc) are intersected with the running result.
    pub fn search(&self, query: &str) -> Vec<(usize, u32)> {
        let mut tokens: Vec<String> = words(query).collect();
        tokens.sort();
        tokens.dedup();
        let mut result: Option<Vec<(u32, u32)>> = None;
        for token in &tokens {
            let matches = self.word_matches(token);
            result = Some(match result {
                None => matches,
                Some(so_far) => intersect(&so_far, &matches),
            });
            if result.as_ref().is_some_and(Vec::is_empty) {
                break;
            }
        }
        result
            .unwrap_or_default()
            .into_iter()
            .map(|(doc, score)| (doc as usize, score))
            .collect()
    }

    /// (doc, weight) for every doc with a term that starts with `token`, sorted by doc; an
    /// exact term counts double, and a doc keeps only its best weight for the word.
    fn word_matches(&self, token: &str) -> Vec<(u32, u32)> {
        let start = self.terms.partition_point(|(t, _)| &**t < token);
        let lists: Vec<(bool, &[Posting])> = self.terms[start..]
            .iter()
            .take_while(|(t, _)| t.starts_with(token))
            .map(|(t, postings)| (**t == *token, postings.as_slice()))
            .collect();
        let weigh = |exact: bool, p: &Posting| u32::from(p.weight) * if exact { 2 } else { 1 };
        match lists.as_slice() {
            [] => Vec::new(),
            [(exact, postings)] => postings.iter().map(|p| (p.doc, weigh(*exact, p))).collect(),
            _ => {
                let total: usize = lists.iter().map(|(_, p)| p.len()).sum();
                if total > self.docs {
                    // A short prefix of many terms: one pass over a dense array is cheaper
                    // than sorting every posting.
                    let mut best = vec![0u32; self.docs];
                    for (exact, postings) in &lists {
                        for p in *postings {
                            let slot = &mut best[p.doc as usize];
                            *slot = (*slot).max(weigh(*exact, p));
                        }
                    }
                    best.into_iter()
                        .enumerate()
                        .filter(|(_, w)| *w > 0)
                        .map(|(doc, w)| (doc as u32, w))
                        .collect()
                } else {
                    let mut all: Vec<(u32, u32)> = Vec::with_capacity(total);
                    for (exact, postings) in &lists {
                        all.extend(postings.iter().map(|p| (p.doc, weigh(*exact, p))));
                    }
                    // Best weight first within a doc, then keep the first of each doc.
                    all.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                    all.dedup_by_key(|m| m.0);
                    all
                }
            }
        }
    }

    /// True when the query has at least one word to search for.
    pub fn has_words(query: &str) -> bool {
        words(query).next().is_some()
    }
}

/// Docs in both lists (each sorted by doc), scores added.
fn intersect(a: &[(u32, u32)], b: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out
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

    /// The straightforward definition: per word, the best weight over every term it
    /// prefixes (an exact term counts double); a doc must match every word.
    fn reference(docs: &[Vec<(&str, u16)>], query: &str) -> Vec<(usize, u32)> {
        let mut tokens: Vec<String> = words(query).collect();
        tokens.sort();
        tokens.dedup();
        if tokens.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        'docs: for (d, fields) in docs.iter().enumerate() {
            let mut score = 0;
            for t in &tokens {
                let best = fields
                    .iter()
                    .flat_map(|(text, w)| words(text).map(move |word| (word, *w)))
                    .filter(|(word, _)| word.starts_with(t.as_str()))
                    .map(|(word, w)| u32::from(w) * if word == *t { 2 } else { 1 })
                    .max();
                match best {
                    Some(b) => score += b,
                    None => continue 'docs,
                }
            }
            out.push((d, score));
        }
        out
    }

    #[test]
    fn search_matches_the_reference_on_random_directories() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        const VOCAB: &[&str] = &[
            "box",
            "boxing",
            "boxer",
            "youth",
            "young",
            "you",
            "club",
            "climb",
            "art",
            "arts",
            "a",
            "b",
            "football",
            "foot",
            "food",
            "music",
            "mentor",
            "mentoring",
        ];
        const WEIGHTS: &[u16] = &[W_NAME, W_ORGANISATION, W_CATEGORY, W_SUMMARY, W_DESCRIPTION];
        let mut rng = StdRng::seed_from_u64(7);
        for round in 0..40 {
            let n = rng.random_range(0..60);
            let docs: Vec<Vec<(&str, u16)>> = (0..n)
                .map(|_| {
                    // Many fields per doc in odd rounds: short prefixes then match more
                    // postings than there are docs, which takes the dense path.
                    (0..rng.random_range(0..if round % 2 == 0 { 6 } else { 16 }))
                        .map(|_| {
                            (
                                VOCAB[rng.random_range(0..VOCAB.len())],
                                WEIGHTS[rng.random_range(0..WEIGHTS.len())],
                            )
                        })
                        .collect()
                })
                .collect();
            let pairs = docs
                .iter()
                .enumerate()
                .flat_map(|(d, fields)| {
                    fields.iter().flat_map(move |(text, w)| {
                        words(text).map(move |word| (word, d as u32, *w))
                    })
                })
                .collect();
            let index = TextIndex::from_pairs(pairs, docs.len());
            for _ in 0..20 {
                let query: Vec<&str> = (0..rng.random_range(0..4))
                    .map(|_| {
                        let w = VOCAB[rng.random_range(0..VOCAB.len())];
                        &w[..rng.random_range(1..=w.len())]
                    })
                    .collect();
                let query = query.join(" ");
                assert_eq!(
                    index.search(&query),
                    reference(&docs, &query),
                    "round {round}, query {query:?}"
                );
            }
        }
    }
}
