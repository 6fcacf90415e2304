//! The privacy promise: `content/privacy.md`, with every number in it filled in from the
//! settings and constants the code really uses. The file writes `{retention_days}` where
//! the page says how long we keep things; an unknown `{name}` is a content error.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalogue::{Catalogue, date, shift, split_front};
use super::files::{ContentError, parse_toml};
use super::markdown::to_safe_html;
use crate::referrals::service::{ROUTINE_RESPONSE_HOURS, URGENT_RESPONSE_HOURS};
use crate::settings::Settings;

pub const FILE: &str = "privacy.md";

/// The `{name}`s `privacy.md` may use, each filled in from what the code does.
pub const PLACEHOLDERS: [&str; 4] = [
    // `SIGNPOST_RETENTION_DAYS`: closed and withdrawn referrals are erased this long after.
    "retention_days",
    // `referrals::service::URGENT_RESPONSE_HOURS`: what an urgent referral is told.
    "urgent_response_hours",
    // `referrals::service::ROUTINE_RESPONSE_HOURS`: what a routine referral is told.
    "routine_response_hours",
    // `SIGNPOST_ESCALATE_URGENT_MINUTES`: an unclaimed urgent referral is escalated.
    "escalate_urgent_minutes",
];

/// The privacy page as served: its numbers are this instance's settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrivacyPage {
    pub title: String,
    pub updated_at: NaiveDate,
    pub body_markdown: String,
    /// Sanitised HTML rendered from `body_markdown`.
    pub body_html: String,
}

/// `privacy.md` as loaded: checked, with its `{placeholders}` still in it. Serve it only
/// through [`privacy_for`].
#[derive(Debug, Clone)]
pub struct PrivacyTemplate {
    pub title: String,
    pub updated_at: NaiveDate,
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivacyFront {
    title: String,
    updated: toml::value::Datetime,
}

/// Each `{name}` in `text` (lowercase letters, digits and `_` between braces), with its
/// byte offset. Other braces are plain text.
fn placeholders(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find('{').map(|i| from + i) {
        let rest = &text[open + 1..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if len > 0 && rest.as_bytes().get(len) == Some(&b'}') {
            out.push((open, &rest[..len]));
            from = open + len + 2;
        } else {
            from = open + 1;
        }
    }
    out
}

/// Parses and checks `privacy.md`: front matter, a body, and only known placeholders.
pub fn parse(file: &str, text: &str) -> Result<PrivacyTemplate, ContentError> {
    let (front_text, body) = split_front(file, text)?;
    let front: PrivacyFront = parse_toml(file, &front_text).map_err(shift)?;
    let updated_at = date(&front.updated).ok_or_else(|| ContentError {
        file: file.to_string(),
        line: 2,
        field: "updated".into(),
        message: "must be a date".into(),
    })?;
    let body_start = text.len() - body.len();
    for (at, name) in placeholders(&body) {
        if !PLACEHOLDERS.contains(&name) {
            return Err(ContentError {
                file: file.to_string(),
                line: text[..body_start + at].matches('\n').count() + 1,
                field: format!("{{{name}}}"),
                message: format!(
                    "unknown placeholder; use one of {}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                ),
            });
        }
    }
    if body.trim().is_empty() {
        return Err(ContentError {
            file: file.to_string(),
            line: text.lines().count(),
            field: "(body)".into(),
            message: "the page has no text".into(),
        });
    }
    Ok(PrivacyTemplate {
        title: front.title.trim().to_string(),
        updated_at,
        body,
    })
}

/// The value of each placeholder on this instance.
pub fn values(settings: &Settings) -> [(&'static str, String); 4] {
    [
        ("retention_days", settings.retention_days.to_string()),
        ("urgent_response_hours", URGENT_RESPONSE_HOURS.to_string()),
        ("routine_response_hours", ROUTINE_RESPONSE_HOURS.to_string()),
        (
            "escalate_urgent_minutes",
            settings.escalate_urgent_after.num_minutes().to_string(),
        ),
    ]
}

impl PrivacyTemplate {
    /// The page with its numbers filled in from `settings`.
    pub fn render(&self, settings: &Settings) -> PrivacyPage {
        let values = values(settings);
        let mut body = String::with_capacity(self.body.len());
        let mut from = 0;
        for (at, name) in placeholders(&self.body) {
            body.push_str(&self.body[from..at]);
            match values.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => body.push_str(v),
                // Checked at load; left as written if it ever is not.
                None => body.push_str(&self.body[at..at + name.len() + 2]),
            }
            from = at + name.len() + 2;
        }
        body.push_str(&self.body[from..]);
        PrivacyPage {
            title: self.title.clone(),
            updated_at: self.updated_at,
            body_html: to_safe_html(&body),
            body_markdown: body,
        }
    }
}

/// The privacy page to serve (at `GET /v1/privacy`, and in the offline bundle), with the
/// numbers this instance uses; `None` when `content/` has no `privacy.md`.
pub fn privacy_for(catalogue: &Catalogue, settings: &Settings) -> Option<PrivacyPage> {
    catalogue.privacy.as_ref().map(|t| t.render(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "+++\ntitle = \"P\"\nupdated = 2026-12-02\n+++\n\nKept {retention_days} days; urgent in {urgent_response_hours} hours, others in {routine_response_hours}; alert after {escalate_urgent_minutes} minutes. Call 999. A {brace} alone, {Not_one} and { x }.\n";

    fn settings(retention: &str, minutes: &str) -> Settings {
        Settings::from_lookup(|name| match name {
            "SIGNPOST_RETENTION_DAYS" => Some(retention.to_string()),
            "SIGNPOST_ESCALATE_URGENT_MINUTES" => Some(minutes.to_string()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn fills_every_number_from_the_settings_and_constants() {
        let t = parse(FILE, &PAGE.replace("{brace}", "brace")).unwrap();
        let p = t.render(&settings("37", "9"));
        assert_eq!(
            p.body_markdown,
            format!(
                "Kept 37 days; urgent in {URGENT_RESPONSE_HOURS} hours, others in {ROUTINE_RESPONSE_HOURS}; alert after 9 minutes. Call 999. A brace alone, {{Not_one}} and {{ x }}.\n"
            )
        );
        assert!(
            p.body_html.starts_with("<p>Kept 37 days"),
            "{}",
            p.body_html
        );
        let catalogue = Catalogue {
            privacy: Some(t),
            ..Catalogue::default()
        };
        let served = privacy_for(&catalogue, &settings("120", "15")).unwrap();
        assert!(served.body_markdown.starts_with("Kept 120 days"));
        assert!(privacy_for(&Catalogue::default(), &settings("1", "1")).is_none());
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_at_its_line() {
        let e = parse(FILE, PAGE).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.field.as_str()),
            ("privacy.md", 6, "{brace}")
        );
        assert!(e.message.contains("{retention_days}"), "{e}");
        let e = parse(FILE, "+++\ntitle = \"P\"\nupdated = 2026-12-02\n+++\n").unwrap_err();
        assert_eq!(e.field, "(body)");
        let e = parse(FILE, "+++\ntitle = \"P\"\nupdated = \"soon\"\n+++\nx\n").unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn the_shipped_page_uses_only_placeholders_for_its_numbers() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("content")
                .join(FILE),
        )
        .unwrap();
        let t = parse(FILE, &text).unwrap();
        for p in PLACEHOLDERS {
            assert!(t.body.contains(&format!("{{{p}}}")), "{p} is used");
        }
        // Digits in the file itself: only 999. Every other number is a placeholder.
        let digits: Vec<&str> = t
            .body
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect();
        assert!(digits.iter().all(|d| *d == "999"), "{digits:?}");
    }
}
