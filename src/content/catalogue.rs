//! Articles, help lines, safe places and the privacy page: files under `content/`, held
//! in memory. Each file loads on its own; a broken file is reported (file, line, field)
//! and its last good version stays served.
use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::files::{ContentError, Parsed, parse_toml};
use super::markdown::to_safe_html;
pub use super::privacy::PrivacyPage;
use super::privacy::{self, PrivacyTemplate};
use super::records::{parse_day, parse_time};
use crate::geo::{Gazetteer, Postcode};
use crate::help::{self, HelpLine};

pub const KINDS: [&str; 4] = ["story", "guide", "toolkit", "campaign"];
pub const AUDIENCES: [&str; 5] = [
    "young-people",
    "parents",
    "schools",
    "community",
    "faith-groups",
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Article {
    pub slug: String,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    /// Sanitised HTML rendered from `body_markdown`.
    pub body_html: String,
    pub audience: Vec<String>,
    pub tags: Vec<String>,
    /// Where the facts in the article come from (publications, pages), to show apart
    /// from the text, e.g. as a "Sources" note under it. May be empty.
    pub sources: Vec<String>,
    pub published_at: NaiveDate,
    pub updated_at: NaiveDate,
    #[serde(skip)]
    pub file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleFront {
    slug: String,
    kind: String,
    title: String,
    summary: String,
    audience: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
    published: toml::value::Datetime,
    updated: Option<toml::value::Datetime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceHours {
    pub day: String,
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SafePlace {
    pub id: String,
    pub name: String,
    /// `hospital` or `haven`.
    pub kind: String,
    pub address: Option<String>,
    pub postcode: String,
    /// Borough slug.
    pub borough: String,
    pub lat: f64,
    pub lon: f64,
    pub description: String,
    pub opening_hours: Vec<PlaceHours>,
    #[serde(skip)]
    pub file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceFile {
    id: String,
    name: String,
    kind: String,
    address: Option<String>,
    postcode: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    opening_hours: Vec<HoursFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursFile {
    day: String,
    opens: String,
    closes: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlacesDoc {
    #[serde(default)]
    place: Vec<PlaceFile>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Newest first, then by slug.
    pub articles: Vec<Article>,
    pub help: Vec<HelpLine>,
    pub safe_places: Vec<SafePlace>,
    /// `privacy.md` with its placeholders: serve it through
    /// [`privacy_for`](super::privacy::privacy_for), which fills in the numbers.
    pub privacy: Option<PrivacyTemplate>,
}

fn error(file: &str, line: usize, field: &str, message: impl Into<String>) -> ContentError {
    ContentError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub(super) fn date(d: &toml::value::Datetime) -> Option<NaiveDate> {
    let date = d.date?;
    NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
}

/// Splits `+++\nfront\n+++\nbody`; the front matter's first line is line 2 of the file.
pub(super) fn split_front(file: &str, text: &str) -> Result<(String, String), ContentError> {
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))
        .ok_or_else(|| error(file, 1, "(front matter)", "start the file with a +++ line"))?;
    let end = rest.find("\n+++").ok_or_else(|| {
        error(
            file,
            1,
            "(front matter)",
            "close the front matter with a +++ line",
        )
    })?;
    let front = rest[..=end].to_string();
    let body = rest[end + 4..].trim_start_matches(['\r', '\n']).to_string();
    Ok((front, body))
}

/// Re-bases a front-matter error onto the file's own line numbers.
pub(super) fn shift(mut e: ContentError) -> ContentError {
    e.line += 1;
    e
}

fn load_article(file: &str, text: &str) -> Result<Article, ContentError> {
    let (front_text, body) = split_front(file, text)?;
    let front: ArticleFront = parse_toml(file, &front_text).map_err(shift)?;
    let parsed = Parsed {
        file: file.to_string(),
        text: front_text,
        value: (),
    };
    let at = |field: &str, message: String| shift(parsed.error_at(None, field, message));
    let expected = file
        .rsplit('/')
        .next()
        .and_then(|n| n.strip_suffix(".md"))
        .unwrap_or_default();
    if front.slug != expected || !is_slug(&front.slug) {
        return Err(at(
            "slug",
            format!(
                "must be lowercase letters, digits and dashes, and match the file name ({expected})"
            ),
        ));
    }
    if !KINDS.contains(&front.kind.as_str()) {
        return Err(at("kind", format!("must be one of {}", KINDS.join(", "))));
    }
    if front.title.trim().is_empty() {
        return Err(at("title", "must not be empty".into()));
    }
    if front.summary.trim().is_empty() || front.summary.chars().count() > 300 {
        return Err(at("summary", "must be 1 to 300 characters".into()));
    }
    if front.audience.is_empty() {
        return Err(at("audience", "name at least one audience".into()));
    }
    if let Some(a) = front
        .audience
        .iter()
        .find(|a| !AUDIENCES.contains(&a.as_str()))
    {
        return Err(at(
            "audience",
            format!("{a:?} is not one of {}", AUDIENCES.join(", ")),
        ));
    }
    if let Some(t) = front.tags.iter().find(|t| !is_slug(t)) {
        return Err(at(
            "tags",
            format!("{t:?} must be lowercase letters, digits and dashes"),
        ));
    }
    if front.sources.iter().any(|s| s.trim().is_empty()) {
        return Err(at("sources", "a source must not be empty".into()));
    }
    let published = date(&front.published)
        .ok_or_else(|| at("published", "must be a date like 2026-11-21".into()))?;
    let updated = match &front.updated {
        Some(u) => date(u).ok_or_else(|| at("updated", "must be a date like 2026-11-21".into()))?,
        None => published,
    };
    if body.trim().is_empty() {
        return Err(error(
            file,
            text.lines().count(),
            "(body)",
            "the article has no text",
        ));
    }
    Ok(Article {
        body_html: to_safe_html(&body),
        slug: front.slug,
        kind: front.kind,
        title: front.title.trim().to_string(),
        summary: front.summary.trim().to_string(),
        body_markdown: body,
        audience: front.audience,
        tags: front.tags,
        sources: front.sources.iter().map(|s| s.trim().to_string()).collect(),
        published_at: published,
        updated_at: updated,
        file: file.to_string(),
    })
}

fn load_places(
    file: &str,
    text: &str,
    gazetteer: &Gazetteer,
) -> Result<Vec<SafePlace>, ContentError> {
    let doc: PlacesDoc = parse_toml(file, text)?;
    let parsed = Parsed {
        file: file.to_string(),
        text: text.to_string(),
        value: (),
    };
    let mut out = Vec::new();
    for (i, p) in doc.place.into_iter().enumerate() {
        let at = |field: &str, message: String| parsed.error_at(Some(("place", i)), field, message);
        if !is_slug(&p.id) {
            return Err(at("id", "use lowercase letters, digits and dashes".into()));
        }
        if p.name.trim().is_empty() {
            return Err(at("name", "must not be empty".into()));
        }
        if p.kind != "hospital" && p.kind != "haven" {
            return Err(at("kind", "must be hospital or haven".into()));
        }
        let place = Postcode::parse(&p.postcode)
            .and_then(|pc| gazetteer.postcode(&pc))
            .ok_or_else(|| {
                at(
                    "postcode",
                    format!("{:?} is not a London postcode", p.postcode),
                )
            })?;
        let mut hours = Vec::new();
        for h in &p.opening_hours {
            let day = parse_day(&h.day)
                .ok_or_else(|| at("day", format!("{:?} is not a day of the week", h.day)))?;
            if parse_time(&h.opens).is_none() || parse_time(&h.closes).is_none() {
                return Err(at("opens", "times look like 09:30".into()));
            }
            hours.push(PlaceHours {
                day: day.to_string(),
                opens: h.opens.clone(),
                closes: h.closes.clone(),
            });
        }
        out.push(SafePlace {
            id: p.id,
            name: p.name.trim().to_string(),
            kind: p.kind,
            address: p.address,
            postcode: place.postcode.unwrap_or_default(),
            borough: place.borough.slug,
            lat: place.lat,
            lon: place.lon,
            description: p.description.trim().to_string(),
            opening_hours: hours,
            file: file.to_string(),
        });
    }
    Ok(out)
}

fn files_with(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    names
}

/// Loads every file; a broken one keeps what `previous` had from it.
pub fn load(
    dir: &Path,
    gazetteer: &Gazetteer,
    previous: Option<&Catalogue>,
) -> (Catalogue, Vec<ContentError>) {
    let mut errors = Vec::new();
    let mut cat = Catalogue::default();

    for name in files_with(&dir.join("articles"), ".md") {
        let file = format!("articles/{name}");
        let loaded = std::fs::read_to_string(dir.join(&file))
            .map_err(|e| error(&file, 1, "(file)", format!("cannot read: {e}")))
            .and_then(|text| load_article(&file, &text));
        match loaded {
            Ok(a) => cat.articles.push(a),
            Err(e) => {
                errors.push(e);
                if let Some(old) = previous.and_then(|p| p.articles.iter().find(|a| a.file == file))
                {
                    cat.articles.push(old.clone());
                }
            }
        }
    }
    // One slug, one article: a later file cannot shadow an earlier one.
    let mut seen = HashMap::new();
    cat.articles
        .retain(|a| seen.insert(a.slug.clone(), ()).is_none());
    cat.articles.sort_by(|a, b| {
        b.published_at
            .cmp(&a.published_at)
            .then(a.slug.cmp(&b.slug))
    });

    for name in files_with(&dir.join("safe_places"), ".toml") {
        let file = format!("safe_places/{name}");
        let loaded = std::fs::read_to_string(dir.join(&file))
            .map_err(|e| error(&file, 1, "(file)", format!("cannot read: {e}")))
            .and_then(|text| load_places(&file, &text, gazetteer));
        match loaded {
            Ok(list) => cat.safe_places.extend(list),
            Err(e) => {
                errors.push(e);
                if let Some(p) = previous {
                    cat.safe_places
                        .extend(p.safe_places.iter().filter(|s| s.file == file).cloned());
                }
            }
        }
    }
    let mut seen = HashMap::new();
    cat.safe_places
        .retain(|p| seen.insert(p.id.clone(), ()).is_none());

    match help::load(dir) {
        Ok(lines) => cat.help = lines,
        Err(e) => {
            errors.push(e);
            cat.help = previous.map(|p| p.help.clone()).unwrap_or_default();
        }
    }

    match std::fs::read_to_string(dir.join(privacy::FILE)) {
        Ok(text) => match privacy::parse(privacy::FILE, &text) {
            Ok(p) => cat.privacy = Some(p),
            Err(e) => {
                errors.push(e);
                cat.privacy = previous.and_then(|p| p.privacy.clone());
            }
        },
        Err(_) => cat.privacy = previous.and_then(|p| p.privacy.clone()),
    }
    (cat, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++\nslug = \"a\"\nkind = \"guide\"\ntitle = \"T\"\nsummary = \"S\"\naudience = [\"young-people\"]\ntags = [\"x\"]\npublished = 2026-11-21\n+++\n\nBody <b>here</b>.\n";

    #[test]
    fn parses_front_matter_and_renders_body() {
        let a = load_article("articles/a.md", GOOD).unwrap();
        assert_eq!(a.slug, "a");
        assert_eq!(a.body_markdown, "Body <b>here</b>.\n");
        assert!(a.body_html.contains("&lt;b&gt;"), "{}", a.body_html);
        assert_eq!(
            a.published_at,
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
        );
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let bad = GOOD.replace("kind = \"guide\"", "kind = \"poem\"");
        let e = load_article("articles/a.md", &bad).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "kind"));
        let bad = GOOD.replace("published = 2026-11-21", "published = \"soon\"");
        let e = load_article("articles/a.md", &bad).unwrap_err();
        assert_eq!(e.line, 8);
        let e = load_article("articles/b.md", GOOD).unwrap_err();
        assert_eq!(e.field, "slug");
        let e = load_article("articles/a.md", "no front matter").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
