//! Triage: reads a young person's message the way they write it, and says whether it
//! sounds urgent, why (the phrases of `content/referrals/urgent_words.toml` that matched)
//! and what it is about (topics).
//!
//! A message is cut into words the same way as every phrase in the content file:
//! lowercase, accents and punctuation dropped, contractions opened (`i'm` → `i am`,
//! `don't` → `do not`), txt spellings from the file's `[spellings]` table applied
//! (`gonna` → `going to`, `u` → `you`, `😂` → `lol`). A word then matches a phrase word
//! when their English stems agree (`weapons` ~ `weapon`, `stabbing` ~ `stab`), also after
//! letters repeated for emphasis are squeezed (`pleeease`, `dieeee`) and a dropped final
//! `g` is put back (`cuttin`). A phrase's words must follow each other, except where the
//! phrase says `..` (up to 2 other words; `..N` up to N). A match that lies inside a
//! match of an `[[ordinary]]` phrase (`my mum's going to kill me`, `shot on my phone`) does not count.
//! See the comment at the top of the content file for the syntax.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};
use serde::Deserialize;

use crate::content::files::{ContentError, locate, parse_toml};

/// The topics a word group or a need may name: the one vocabulary help lines are
/// ordered by, defined beside them.
pub use crate::help::TOPICS;

/// The most words a `..N` gap may skip.
pub const MAX_GAP: usize = 5;
/// What a bare `..` skips.
const DEFAULT_GAP: usize = 2;

/// What triage found in a referral.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triage {
    /// True when a phrase of an urgent group matched, or a chosen need is urgent.
    pub urgent: bool,
    /// The content phrases that matched, as written in the content file, each once, in
    /// the file's order: for telling a youth worker why.
    pub matched: Vec<String>,
    /// The young person's own words that made the message urgent (each urgent match, as
    /// the message's words, spellings normalised), each once, in the order found: what a
    /// youth worker is shown, never the list syntax.
    pub urgent_words: Vec<String>,
    /// The topics of the groups that matched and of the chosen needs.
    pub topics: BTreeSet<String>,
}

/// True when `topic` is one of [`TOPICS`].
pub fn is_topic(topic: &str) -> bool {
    TOPICS.contains(&topic)
}

/// The phrase lists, parsed and checked: what `urgent_words.toml` says.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    spellings: HashMap<String, Vec<String>>,
    /// Irregular forms (`came` → `come`): a message word also takes the stem of its base.
    irregular: HashMap<String, String>,
    /// Real words that are one letter away from a listed word (`thread`, `threat`):
    /// never read as typos.
    real_words: HashSet<String>,
    groups: Vec<Group>,
    ordinary: Vec<Phrase>,
}

/// A phrase word this long or longer also matches a message word one typo away
/// (a letter missed, added, changed, or two letters swapped), if both start with the
/// same letter and the message word is not in `[typos] real_words`.
pub const TYPO_MIN_LEN: usize = 6;

#[derive(Debug, Clone)]
struct Group {
    topic: String,
    urgent: bool,
    phrases: Vec<Phrase>,
}

#[derive(Debug, Clone)]
struct Phrase {
    /// As written in the content file.
    source: String,
    /// Never starts or ends with a gap; never two gaps in a row.
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    /// Any of these words.
    Word(Vec<WordPattern>),
    /// Up to this many other words.
    Gap(usize),
}

#[derive(Debug, Clone)]
struct WordPattern {
    word: String,
    stem: String,
    /// `=word`: this spelling only, no other forms.
    exact: bool,
}

/// One word of a message, with the forms it may stand for.
#[derive(Debug, Clone)]
struct Token {
    forms: Vec<String>,
    stems: Vec<String>,
    /// False for the real words that must not be read as typos.
    typo_able: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsDoc {
    #[serde(default)]
    spellings: BTreeMap<String, String>,
    #[serde(default)]
    irregular: BTreeMap<String, String>,
    #[serde(default)]
    typos: TyposFile,
    #[serde(default)]
    group: Vec<GroupFile>,
    #[serde(default)]
    ordinary: Vec<OrdinaryFile>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    topic: String,
    #[serde(default = "yes")]
    urgent: bool,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    phrases: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TyposFile {
    #[serde(default)]
    real_words: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrdinaryFile {
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    phrases: Vec<String>,
}

impl Matcher {
    /// Parses and checks the text of `file` (a path relative to the content directory,
    /// for error messages): every error names the file, the line and the field.
    pub fn parse(file: &str, text: &str) -> Result<Self, ContentError> {
        let doc = parse_toml::<WordsDoc>(file, text)?;
        let error = |line: usize, field: &str, message: String| ContentError {
            file: file.to_string(),
            line,
            field: field.to_string(),
            message,
        };

        let mut matcher = Matcher::default();
        for (key, value) in &doc.spellings {
            let line = spelling_line(text, key);
            let from = fold(key).replace('\'', "");
            let single_symbol = {
                let mut cs = from.chars();
                cs.next().is_some_and(|c| !c.is_alphanumeric()) && cs.next().is_none()
            };
            if from.is_empty()
                || !(single_symbol
                    || from
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '*' || c == '\''))
            {
                return Err(error(
                    line,
                    "spellings",
                    format!(
                        "{key:?}: a spelling is one word (letters, digits, `*`) or one symbol such as an emoji"
                    ),
                ));
            }
            let to = plain_words(value);
            if to.is_empty() {
                return Err(error(
                    line,
                    "spellings",
                    format!("{key:?}: say which word or words it stands for"),
                ));
            }
            matcher.spellings.insert(from, to);
        }

        for (key, value) in &doc.irregular {
            let (from, to) = (plain_words(key), plain_words(value));
            if from.len() != 1 || to.len() != 1 {
                return Err(error(
                    spelling_line_in(text, "irregular", key),
                    "irregular",
                    format!("{key:?} = {value:?}: one word = its base word"),
                ));
            }
            matcher.irregular.insert(from[0].clone(), to[0].clone());
        }
        for w in &doc.typos.real_words {
            let words = plain_words(w);
            if words.len() != 1 {
                return Err(error(
                    table_line(text, "typos"),
                    "real_words",
                    format!("{w:?}: one word each"),
                ));
            }
            matcher.real_words.extend(words);
        }

        let stemmer = Stemmer::create(Algorithm::English);
        if doc.group.iter().all(|g| !g.urgent) {
            return Err(error(
                1,
                "group",
                "list at least one [[group]] of urgent phrases".into(),
            ));
        }
        for (i, g) in doc.group.iter().enumerate() {
            if !is_topic(&g.topic) {
                return Err(error(
                    locate(text, Some(("group", i)), "topic"),
                    "topic",
                    format!(
                        "unknown topic {:?}; use one of: {}",
                        g.topic,
                        TOPICS.join(", ")
                    ),
                ));
            }
            if g.phrases.is_empty() {
                return Err(error(
                    locate(text, Some(("group", i)), "phrases"),
                    "phrases",
                    "list at least one phrase".into(),
                ));
            }
            let mut phrases = Vec::new();
            for p in &g.phrases {
                phrases.push(
                    matcher
                        .phrase(p, &stemmer)
                        .map_err(|m| error(phrase_line(text, "group", i, p), "phrases", m))?,
                );
            }
            matcher.groups.push(Group {
                topic: g.topic.clone(),
                urgent: g.urgent,
                phrases,
            });
        }
        for (i, o) in doc.ordinary.iter().enumerate() {
            for p in &o.phrases {
                let phrase = matcher
                    .phrase(p, &stemmer)
                    .map_err(|m| error(phrase_line(text, "ordinary", i, p), "phrases", m))?;
                matcher.ordinary.push(phrase);
            }
        }
        // Every word the file lists is a real word: never read as a typo of another.
        let listed: Vec<String> = matcher
            .groups
            .iter()
            .flat_map(|g| &g.phrases)
            .chain(&matcher.ordinary)
            .flat_map(|p| &p.parts)
            .filter_map(|part| match part {
                Part::Word(ws) => Some(ws),
                Part::Gap(_) => None,
            })
            .flatten()
            .map(|w| w.word.clone())
            .collect();
        matcher.real_words.extend(listed);
        Ok(matcher)
    }

    /// Parses one phrase of the content file.
    fn phrase(&self, source: &str, stemmer: &Stemmer) -> Result<Phrase, String> {
        let mut parts: Vec<Part> = Vec::new();
        for item in source.split_whitespace() {
            if let Some(n) = item.strip_prefix("..") {
                let n = if n.is_empty() {
                    DEFAULT_GAP
                } else {
                    match n.parse::<usize>() {
                        Ok(n) if (1..=MAX_GAP).contains(&n) => n,
                        _ => {
                            return Err(format!(
                                "{source:?}: a gap is `..` (up to {DEFAULT_GAP} words) or `..N` with N from 1 to {MAX_GAP}"
                            ));
                        }
                    }
                };
                if parts.is_empty() || matches!(parts.last(), Some(Part::Gap(_))) {
                    return Err(format!("{source:?}: a gap must stand between two words"));
                }
                parts.push(Part::Gap(n));
                continue;
            }
            let alternatives: Vec<&str> = item.split('|').collect();
            let mut words: Vec<Vec<WordPattern>> = Vec::new();
            for alt in &alternatives {
                let (exact, alt) = match alt.strip_prefix('=') {
                    Some(rest) => (true, rest),
                    None => (false, *alt),
                };
                let ws = self.words(alt);
                if ws.is_empty() {
                    return Err(format!("{source:?}: {item:?} has an empty word"));
                }
                if alternatives.len() > 1 && ws.len() > 1 {
                    return Err(format!(
                        "{source:?}: each word of {item:?} must stay one word (here {alt:?} becomes {:?})",
                        ws.join(" ")
                    ));
                }
                words.push(
                    ws.into_iter()
                        .map(|w| WordPattern {
                            stem: stemmer.stem(&w).into_owned(),
                            word: w,
                            exact,
                        })
                        .collect(),
                );
            }
            if alternatives.len() > 1 {
                parts.push(Part::Word(words.into_iter().flatten().collect()));
            } else {
                for w in words.into_iter().flatten() {
                    parts.push(Part::Word(vec![w]));
                }
            }
        }
        match parts.last() {
            None => Err("the phrase is empty".into()),
            Some(Part::Gap(_)) => Err(format!("{source:?}: a gap must stand between two words")),
            Some(Part::Word(_)) => Ok(Phrase {
                source: source.to_string(),
                parts,
            }),
        }
    }

    /// The words of `text` after case, accents, punctuation, contractions and txt
    /// spellings (before word forms): what phrases are matched against.
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for raw in raw_tokens(text, |c| {
            self.spellings.contains_key(c.encode_utf8(&mut [0; 4]))
        }) {
            for piece in open_contraction(&raw) {
                match self.spelling(&piece) {
                    Some(words) => out.extend(words.iter().cloned()),
                    None => {
                        let w: String = piece.chars().filter(|c| c.is_alphanumeric()).collect();
                        if !w.is_empty() {
                            out.push(w);
                        }
                    }
                }
            }
        }
        join_self(out)
    }

    fn spelling(&self, piece: &str) -> Option<&Vec<String>> {
        if let Some(w) = self.spellings.get(piece) {
            return Some(w);
        }
        emphasis_variants(piece)
            .iter()
            .find_map(|v| self.spellings.get(v.as_str()))
    }

    fn tokens(&self, text: &str) -> Vec<Token> {
        let stemmer = Stemmer::create(Algorithm::English);
        self.words(text)
            .into_iter()
            .map(|w| {
                let mut forms = vec![w.clone()];
                forms.extend(emphasis_variants(&w));
                // A dropped final g: "cuttin", "stabbin".
                if w.len() >= 5 && w.ends_with("in") {
                    forms.push(format!("{w}g"));
                }
                forms.dedup();
                let mut stems: Vec<String> =
                    forms.iter().map(|f| stemmer.stem(f).into_owned()).collect();
                // Irregular forms take their base's stem too: "came" ~ "come".
                stems.extend(
                    forms
                        .iter()
                        .filter_map(|f| self.irregular.get(f))
                        .map(|base| stemmer.stem(base).into_owned()),
                );
                let typo_able = !forms.iter().any(|f| self.real_words.contains(f));
                stems.sort();
                stems.dedup();
                Token {
                    forms,
                    stems,
                    typo_able,
                }
            })
            .collect()
    }

    /// The listed words (of urgent groups) that `word` of a message is read as a typo
    /// of: for checking that no common word is misread (add it to `[typos] real_words`).
    pub fn typo_readings(&self, word: &str) -> Vec<String> {
        let Some(t) = self.tokens(word).into_iter().next() else {
            return Vec::new();
        };
        let mut out: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.urgent)
            .flat_map(|g| &g.phrases)
            .flat_map(|p| &p.parts)
            .filter_map(|part| match part {
                Part::Word(ws) => Some(ws),
                Part::Gap(_) => None,
            })
            .flatten()
            .filter(|w| !w.matches_plainly(&t) && w.matches(&t))
            .map(|w| w.word.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Triage of a message on its own (no needs).
    pub fn scan(&self, message: &str) -> Triage {
        let tokens = self.tokens(message);
        let ordinary: Vec<(usize, usize)> = self
            .ordinary
            .iter()
            .flat_map(|p| p.spans(&tokens))
            .collect();
        let mut triage = Triage::default();
        for g in &self.groups {
            for p in &g.phrases {
                // A match counts unless an ordinary phrase covers all of it.
                let counted: Vec<(usize, usize)> = p
                    .spans(&tokens)
                    .into_iter()
                    .filter(|&(s, e)| !ordinary.iter().any(|&(os, oe)| os <= s && e <= oe))
                    .collect();
                if g.urgent {
                    for &(s, e) in &counted {
                        let said = tokens[s..e]
                            .iter()
                            .filter_map(|t| t.forms.first().map(String::as_str))
                            .collect::<Vec<_>>()
                            .join(" ");
                        if !said.is_empty() && !triage.urgent_words.contains(&said) {
                            triage.urgent_words.push(said);
                        }
                    }
                }
                if !counted.is_empty() {
                    triage.urgent |= g.urgent;
                    triage.topics.insert(g.topic.clone());
                    if !triage.matched.contains(&p.source) {
                        triage.matched.push(p.source.clone());
                    }
                }
            }
        }
        triage
    }
}

impl Phrase {
    /// Every place the phrase matches, as [start, end) word positions.
    fn spans(&self, tokens: &[Token]) -> Vec<(usize, usize)> {
        (0..tokens.len())
            .filter_map(|start| match_from(&self.parts, tokens, start).map(|end| (start, end)))
            .collect()
    }
}

fn match_from(parts: &[Part], tokens: &[Token], pos: usize) -> Option<usize> {
    match parts.split_first() {
        None => Some(pos),
        Some((Part::Word(alternatives), rest)) => {
            let t = tokens.get(pos)?;
            if alternatives.iter().any(|a| a.matches(t)) {
                match_from(rest, tokens, pos + 1)
            } else {
                None
            }
        }
        Some((Part::Gap(n), rest)) => (0..=*n).find_map(|k| match_from(rest, tokens, pos + k)),
    }
}

impl WordPattern {
    fn matches(&self, t: &Token) -> bool {
        self.matches_plainly(t) || (!self.exact && t.typo_able && self.typo_of(t))
    }

    /// The word itself or one of its forms, no typo.
    fn matches_plainly(&self, t: &Token) -> bool {
        t.forms.contains(&self.word) || (!self.exact && t.stems.contains(&self.stem))
    }

    /// One typo away from this word as written in the content file (see
    /// [`TYPO_MIN_LEN`]; both words that long): a letter missed ("purpos", "touchd"),
    /// added, changed ("happyer"), or two neighbouring letters swapped ("suicdie"), with
    /// the first letter kept. Stems are not compared: short stems collide too often.
    fn typo_of(&self, t: &Token) -> bool {
        let near = |typed: &str, listed: &str| {
            listed.chars().count() >= TYPO_MIN_LEN
                && typed.chars().count() >= TYPO_MIN_LEN
                && typed.chars().next() == listed.chars().next()
                && one_typo_apart(typed, listed)
        };
        t.forms.iter().any(|f| near(f, &self.word))
    }
}

/// Lowercase, with accents folded and every apostrophe made `'`.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => out.push('a'),
            'ç' | 'ć' | 'č' => out.push('c'),
            'ď' | 'đ' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => out.push('e'),
            'ğ' => out.push('g'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => out.push('i'),
            'ł' => out.push('l'),
            'ñ' | 'ń' | 'ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => out.push('o'),
            'ř' => out.push('r'),
            'ś' | 'š' | 'ş' => out.push('s'),
            'ť' | 'ţ' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}' => out.push('\''),
            c => out.push(c),
        }
    }
    out
}

/// Words as typed: letters and digits, with apostrophes and `*` inside them kept; a
/// symbol that `is_word` accepts (an emoji with a spelling) is a word of its own;
/// anything else separates words.
fn raw_tokens(text: &str, is_word: impl Fn(char) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in fold(text).chars() {
        if c.is_alphanumeric() || c == '\'' || c == '*' {
            current.push(c);
        } else {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            if is_word(c) {
                out.push(c.to_string());
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `i'm` → `i am`, `don't` → `do not`, `can't` → `can not`, `they'll` → `they will`;
/// any other apostrophe joins (`mum's` → `mums`).
fn open_contraction(raw: &str) -> Vec<String> {
    let t = raw.trim_matches(|c| c == '\'' || c == '*');
    if t.is_empty() {
        return Vec::new();
    }
    if let Some(base) = t.strip_suffix("n't") {
        let base = match base {
            "ca" => "can",
            "wo" => "will",
            "sha" => "shall",
            "ai" => "am",
            b => b,
        };
        let mut out = Vec::new();
        if !base.is_empty() {
            out.push(base.replace('\'', ""));
        }
        out.push("not".to_string());
        return out;
    }
    for (suffix, word) in [
        ("'m", "am"),
        ("'re", "are"),
        ("'ve", "have"),
        ("'ll", "will"),
        ("'d", "would"),
    ] {
        if let Some(base) = t.strip_suffix(suffix)
            && !base.is_empty()
        {
            return vec![base.replace('\'', ""), word.to_string()];
        }
    }
    vec![t.replace('\'', "")]
}

/// `my self` → `myself`, `him self` → `himself` (written apart by younger children).
fn join_self(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for w in words {
        if matches!(w.as_str(), "self" | "selves")
            && let Some(last) = out.last_mut()
            && matches!(
                last.as_str(),
                "my" | "your" | "him" | "her" | "them" | "it" | "our" | "thy"
            )
        {
            last.push_str(&w);
            continue;
        }
        out.push(w);
    }
    out
}

/// Words without spellings applied (for the right-hand side of a spelling).
fn plain_words(text: &str) -> Vec<String> {
    raw_tokens(text, |_| false)
        .iter()
        .flat_map(|r| open_contraction(r))
        .map(|p| {
            p.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The word with each run of 3 or more equal letters squeezed to 1 or 2 letters
/// (`pleeease` → `please`, `pleease`; `killlll` → `kil`, `kill`); none when no run is
/// that long. At most 3 runs are varied.
fn emphasis_variants(word: &str) -> Vec<String> {
    let mut runs: Vec<(char, usize)> = Vec::new();
    for c in word.chars() {
        match runs.last_mut() {
            Some((last, n)) if *last == c => *n += 1,
            _ => runs.push((c, 1)),
        }
    }
    let long: Vec<usize> = runs
        .iter()
        .enumerate()
        .filter(|(_, (_, n))| *n >= 3)
        .map(|(i, _)| i)
        .take(3)
        .collect();
    if long.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for mask in 0..(1u32 << long.len()) {
        let mut w = String::with_capacity(word.len());
        for (i, &(c, n)) in runs.iter().enumerate() {
            let keep = match long.iter().position(|&l| l == i) {
                Some(bit) => {
                    if mask & (1 << bit) != 0 {
                        2
                    } else {
                        1
                    }
                }
                None => n,
            };
            w.extend(std::iter::repeat_n(c, keep));
        }
        out.push(w);
    }
    out
}

/// The line of `phrase` inside the `index`th `[[table]]` (else the `phrases` line).
fn phrase_line(text: &str, table: &str, index: usize, phrase: &str) -> usize {
    let start = locate(text, Some((table, index)), "phrases");
    let quoted = [format!("\"{phrase}\""), format!("'{phrase}'")];
    text.lines()
        .enumerate()
        .skip(start.saturating_sub(1))
        .find(|(_, l)| quoted.iter().any(|q| l.contains(q.as_str())))
        .map_or(start, |(i, _)| i + 1)
}

/// The line where `key` is set in the `[spellings]` table (else that table's header).
fn spelling_line(text: &str, key: &str) -> usize {
    spelling_line_in(text, "spellings", key)
}

/// The line of the `[table]` header (else 1).
fn table_line(text: &str, table: &str) -> usize {
    let header = format!("[{table}]");
    text.lines()
        .position(|l| l.trim() == header)
        .map_or(1, |p| p + 1)
}

/// The line where `key` is set in the `[table]` table (else that table's header).
fn spelling_line_in(text: &str, table: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let header = format!("[{table}]");
    let Some(header) = lines.iter().position(|l| l.trim() == header) else {
        return 1;
    };
    let forms = [format!("\"{key}\""), format!("'{key}'"), key.to_string()];
    lines[header + 1..]
        .iter()
        .position(|l| {
            let l = l.trim_start();
            forms.iter().any(|f| {
                l.strip_prefix(f.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
        })
        .map_or(header + 1, |p| header + p + 2)
}

/// True when `a` and `b` are one typo apart: one letter missed, added or changed, or two
/// neighbouring letters swapped (bounded Damerau-Levenshtein distance of exactly 1).
fn one_typo_apart(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if ra.len() == rb.len() {
        // One letter changed, or two neighbouring letters swapped.
        ra[1..] == rb[1..]
            || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
    } else if ra.len() > rb.len() {
        ra[1..] == *rb
    } else {
        rb[1..] == *ra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "referrals/urgent_words.toml";

    fn matcher(text: &str) -> Matcher {
        Matcher::parse(FILE, text).unwrap()
    }

    fn small() -> Matcher {
        matcher(
            r#"
[spellings]
gonna = "going to"
u = "you"
"😂" = "lol"
im = "i am"
kms = "kill myself"
"s*icide" = "suicide"

[[group]]
topic = "self-harm"
phrases = ["cut myself", "cut my arm|wrist|leg", "=cutting again", "self harm"]

[[group]]
topic = "violence"
phrases = ["going to .. kill me", "stab", "got .. shot"]

[[group]]
topic = "suicide"
phrases = ["kill myself", "suicide", "want to die"]

[[group]]
topic = "weapons"
phrases = ["weapon", "knife", "knives"]

[[group]]
topic = "bereavement"
urgent = false
phrases = ["passed away"]

[[ordinary]]
phrases = ["mum ..3 kill me", "knife and fork", "got .. shot on my phone|camera"]
"#,
        )
    }

    #[test]
    fn words_fold_case_accents_punctuation_and_contractions() {
        let m = small();
        assert_eq!(
            m.words("I'm SCARED!!! Café…"),
            ["i", "am", "scared", "cafe"]
        );
        assert_eq!(m.words("im scared"), ["i", "am", "scared"]);
        assert_eq!(m.words("I\u{2019}m"), ["i", "am"]);
        assert_eq!(
            m.words("don't can't won't"),
            ["do", "not", "can", "not", "will", "not"]
        );
        assert_eq!(
            m.words("they'll they're i've i'd"),
            ["they", "will", "they", "are", "i", "have", "i", "would"]
        );
        assert_eq!(m.words("my mum's"), ["my", "mums"]);
        assert_eq!(m.words("u gonna"), ["you", "going", "to"]);
        assert_eq!(m.words("dead😂lol"), ["dead", "lol", "lol"]);
        assert_eq!(m.words("s*icide"), ["suicide"]);
        assert_eq!(m.words("self-harm"), ["self", "harm"]);
        // Repeated letters reach a spelling: "kmsss".
        assert_eq!(m.words("kmsss"), ["kill", "myself"]);
    }

    #[test]
    fn word_forms_match_by_stem_and_emphasis() {
        let m = small();
        assert!(m.scan("people carrying WEAPONS").urgent);
        assert!(m.scan("my mate got stabbed").urgent);
        assert!(m.scan("he keeps stabbing ppl").urgent);
        assert!(m.scan("i want to dieeeee").urgent);
        assert!(m.scan("i wanna kms").urgent == m.scan("kms").urgent);
        assert!(m.scan("kms").urgent);
        assert!(m.scan("cuttin again").urgent);
        // `=cutting` takes no other forms.
        assert!(!m.scan("i cut again").urgent);
        assert!(!m.scan("nothing here").urgent);
        assert!(!m.scan("my knifey spoon").urgent);
    }

    #[test]
    fn gaps_allow_a_few_words_and_no_more() {
        let m = small();
        assert!(m.scan("hes going to kill me").urgent);
        assert!(m.scan("hes gonna properly kill me").urgent);
        assert!(m.scan("hes gonna proper actually kill me").urgent);
        assert!(!m.scan("hes gonna go home and then kill me").urgent);
        assert!(m.scan("my cousin got shot").urgent);
        assert!(m.scan("my cousin got himself shot").urgent);
        // Alternatives with forms: "arms" ~ "arm".
        assert!(m.scan("i cut my arms again").urgent);
        assert!(!m.scan("i cut my hair").urgent);
    }

    #[test]
    fn ordinary_phrases_cancel_only_what_they_cover() {
        let m = small();
        assert!(!m.scan("my mum's going to kill me im so late").urgent);
        assert!(!m.scan("my mum is gonna kill me").urgent);
        assert!(!m.scan("do i need a knife and fork").urgent);
        assert!(!m.scan("i got it shot on my phone for my project").urgent);
        // Something else urgent in the same message still counts.
        let t = m.scan("my mum's going to kill me and my brother has a knife");
        assert!(t.urgent);
        assert_eq!(t.matched, ["knife"]);
        // Someone else threatening is not the ordinary phrase.
        assert!(m.scan("my ex is going to kill me").urgent);
    }

    #[test]
    fn topics_and_matched_phrases_say_why() {
        let m = small();
        let t = m.scan("i want to kill myself, i've been cutting again");
        assert!(t.urgent);
        assert_eq!(t.matched, ["=cutting again", "kill myself"]);
        assert!(
            t.urgent_words
                .iter()
                .all(|w| !w.contains('|') && !w.contains(".."))
        );
        assert_eq!(
            t.topics.iter().map(String::as_str).collect::<Vec<_>>(),
            ["self-harm", "suicide"]
        );
        // A group with `urgent = false` gives a topic, not urgency.
        let t = m.scan("my nan passed away");
        assert!(!t.urgent);
        assert_eq!(t.matched, ["passed away"]);
        assert!(t.topics.contains("bereavement"));
    }

    #[test]
    fn one_typo_in_a_long_word_still_matches() {
        let m = matcher(
            r#"
[irregular]
came = "come"

[typos]
real_words = ["thread"]

[[group]]
topic = "suicide"
phrases = ["suicide", "better off without me", "threat", "=killed", "come for me", "hurt myself"]
"#,
        );
        // Missed, added, changed and swapped letters, first letter kept.
        for typed in [
            "sucide",
            "suicidee",
            "suicjde",
            "suicdie",
            "betetr off without me",
        ] {
            assert!(m.scan(typed).urgent, "{typed}");
        }
        // Not two typos, not the first letter, not a listed real word, not short words,
        // not an exact (`=`) word.
        for typed in [
            "sucde",
            "zuicide",
            "a thread",
            "betetr of without me",
            "bettr off without me",
            "kilked",
        ] {
            assert!(!m.scan(typed).urgent, "{typed}");
        }
        // Irregular forms and "my self".
        assert!(m.scan("he came for me").urgent);
        assert!(m.scan("i hurt my self").urgent);
        assert_eq!(m.typo_readings("sucide"), ["suicide"]);
        assert!(m.typo_readings("suicide").is_empty());
    }

    #[test]
    fn one_typo_apart_is_a_bounded_edit_distance() {
        assert!(one_typo_apart("purpos", "purpose"));
        assert!(one_typo_apart("purpose", "purpos"));
        assert!(one_typo_apart("touchd", "touched"));
        assert!(one_typo_apart("happyer", "happier"));
        assert!(one_typo_apart("suicdie", "suicide"));
        assert!(!one_typo_apart("suicide", "suicide"));
        assert!(!one_typo_apart("sucdie", "suicide"));
        assert!(!one_typo_apart("privit", "private"));
    }

    #[test]
    fn emphasis_variants_squeeze_long_runs_only() {
        assert!(emphasis_variants("kill").is_empty());
        let v = emphasis_variants("pleeease");
        assert!(v.contains(&"please".to_string()) && v.contains(&"pleease".to_string()));
        let v = emphasis_variants("kiiilllll");
        assert!(v.contains(&"kill".to_string()));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad_topic = "[[group]]\ntopic = \"self-harm\"\nphrases = [\"a\"]\n\n[[group]]\ntopic = \"knives\"\nphrases = [\"b\"]\n";
        let e = Matcher::parse(FILE, bad_topic).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.field.as_str()),
            (FILE, 6, "topic")
        );
        assert!(e.message.contains("knives"), "{e}");

        let bad_gap =
            "[[group]]\ntopic = \"violence\"\nphrases = [\n  \"fine\",\n  \"kill ..9 me\",\n]\n";
        let e = Matcher::parse(FILE, bad_gap).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (5, "phrases"), "{e}");

        let gap_at_end = "[[group]]\ntopic = \"violence\"\nphrases = [\"kill ..\"]\n";
        assert!(Matcher::parse(FILE, gap_at_end).is_err());
        let multi_word_alternative = "[spellings]\ngonna = \"going to\"\n\n[[group]]\ntopic = \"violence\"\nphrases = [\"gonna|will kill\"]\n";
        let e = Matcher::parse(FILE, multi_word_alternative).unwrap_err();
        assert_eq!(e.line, 6, "{e}");

        let bad_spelling = "[spellings]\nok = \"fine\"\n\"two words\" = \"x\"\n\n[[group]]\ntopic = \"violence\"\nphrases = [\"stab\"]\n";
        let e = Matcher::parse(FILE, bad_spelling).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "spellings"), "{e}");

        let no_urgent = "[[group]]\ntopic = \"drugs\"\nurgent = false\nphrases = [\"weed\"]\n";
        assert!(Matcher::parse(FILE, no_urgent).is_err());

        let unknown_field = "[[group]]\ntopic = \"drugs\"\nphrase = [\"weed\"]\n";
        let e = Matcher::parse(FILE, unknown_field).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }
}
