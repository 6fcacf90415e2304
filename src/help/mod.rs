//! Crisis and help lines: `content/help.toml`, served at `GET /v1/help` and carried in
//! every referral answer.
use std::path::Path;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::content::files::{ContentError, Parsed, parse_toml};
use crate::state::AppState;

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HelpDoc {
    line: Vec<HelpLine>,
}

pub const FILE: &str = "help.toml";

/// Loads and checks the help lines: each reachable somehow, ids unique, 999 first.
pub fn load(content_dir: &Path) -> Result<Vec<HelpLine>, ContentError> {
    let text = std::fs::read_to_string(content_dir.join(FILE)).map_err(|e| ContentError {
        file: FILE.into(),
        line: 1,
        field: "(file)".into(),
        message: format!("cannot read: {e}"),
    })?;
    let doc: HelpDoc = parse_toml(FILE, &text)?;
    let parsed = Parsed {
        file: FILE.to_string(),
        text,
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
    }
    if parsed.value.first().and_then(|l| l.phone.as_deref()) != Some("999") {
        return Err(parsed.error_at(Some(("line", 0)), "phone", "the first line must be 999"));
    }
    Ok(parsed.value)
}

/// The lines in the order to show them; crisis lines first when `urgent`.
pub fn ordered(lines: &[HelpLine], urgent: bool) -> Vec<HelpLine> {
    let mut out = lines.to_vec();
    if urgent {
        out.sort_by_key(|l| !l.urgent);
    }
    out
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

    #[test]
    fn shipped_lines_load_with_999_first() {
        let lines = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("content")).unwrap();
        assert_eq!(lines[0].phone.as_deref(), Some("999"));
        assert!(lines.iter().any(|l| l.id == "childline"));
        let urgent = ordered(&lines, true);
        let first_routine = urgent.iter().position(|l| !l.urgent).unwrap();
        assert!(urgent[first_routine..].iter().all(|l| !l.urgent));
        assert_eq!(urgent[0].id, "emergency");
    }
}
