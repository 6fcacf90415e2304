//! The TOML files a non-programmer edits: their shapes, and errors that name the file,
//! the line and the field.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct ContentError {
    /// Path relative to the content directory.
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeFile {
    pub slug: String,
    pub name: String,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    pub url: Option<String>,
    pub successor: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryFile {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub parent: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgrammesDoc {
    #[serde(default)]
    programme: Vec<ProgrammeFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesDoc {
    #[serde(default)]
    category: Vec<CategoryFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationFile {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub services: Vec<ServiceFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFile {
    pub slug: String,
    pub name: String,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub programmes: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    pub free: Option<bool>,
    pub cost: Option<String>,
    pub accepts_self_referral: Option<bool>,
    pub how_to_access: Option<String>,
    /// Borough slugs or GSS codes, or `"all"`.
    #[serde(default)]
    pub boroughs: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub accessibility: Vec<String>,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub locations: Vec<LocationFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationFile {
    pub name: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    #[serde(default)]
    pub opening_hours: Vec<HoursFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursFile {
    pub day: String,
    pub opens: String,
    pub closes: String,
}

/// One parsed file, with its text kept to locate fields for later errors.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub file: String,
    pub text: String,
    pub value: T,
}

impl<T> Parsed<T> {
    /// An error at the line where `field` is set inside the `index`th `[[table]]`
    /// (or at the top of the file).
    pub fn error_at(
        &self,
        table: Option<(&str, usize)>,
        field: &str,
        message: impl Into<String>,
    ) -> ContentError {
        ContentError {
            file: self.file.clone(),
            line: locate(&self.text, table, field),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Finds the line (1-based) of `field = …` inside the `index`th `[[table]]` block,
/// falling back to the block's header, then to line 1.
pub fn locate(text: &str, table: Option<(&str, usize)>, field: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let (start, end) = match table {
        None => {
            let end = lines
                .iter()
                .position(|l| l.trim_start().starts_with('['))
                .unwrap_or(lines.len());
            (0, end)
        }
        Some((name, index)) => {
            let header = format!("[[{name}]]");
            let Some(start) = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.trim() == header)
                .map(|(i, _)| i)
                .nth(index)
            else {
                return 1;
            };
            let end = lines[start + 1..]
                .iter()
                .position(|l| l.trim() == header)
                .map_or(lines.len(), |p| start + 1 + p);
            (start, end)
        }
    };
    let key = field.rsplit('.').next().unwrap_or(field);
    let key = key.split('[').next().unwrap_or(key);
    lines[start..end]
        .iter()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(start + 1, |p| start + p + 1)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub fn parse_toml<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T, ContentError> {
    toml::from_str::<T>(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        let message = e.message().trim().to_string();
        // The key on the offending line (`key = value`), else one the message names.
        let key_on_line = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('['));
        let field = key_on_line
            .or_else(|| {
                message
                    .split('`')
                    .nth(1)
                    .filter(|_| message.contains("field"))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "(file)".to_string());
        ContentError {
            file: file.to_string(),
            line,
            field,
            message,
        }
    })
}

fn read(dir: &Path, rel: &str) -> Result<Option<String>, ContentError> {
    match std::fs::read_to_string(dir.join(rel)) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ContentError {
            file: rel.to_string(),
            line: 1,
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        }),
    }
}

/// Everything under the content directory, each file parsed on its own: a broken file
/// is an error for that file alone.
#[derive(Debug, Default)]
pub struct ContentFiles {
    /// `None` when the file is missing; `Some(Err)` when it is broken.
    pub programmes: Option<Result<Parsed<Vec<ProgrammeFile>>, ContentError>>,
    pub categories: Option<Result<Parsed<Vec<CategoryFile>>, ContentError>>,
    pub organisations: Vec<Result<Parsed<OrganisationFile>, ContentError>>,
}

impl ContentFiles {
    pub fn read(dir: &Path) -> Self {
        let programmes = match read(dir, "programmes.toml") {
            Ok(None) => None,
            Ok(Some(text)) => Some(parse_toml::<ProgrammesDoc>("programmes.toml", &text).map(
                |doc| Parsed {
                    file: "programmes.toml".into(),
                    text,
                    value: doc.programme,
                },
            )),
            Err(e) => Some(Err(e)),
        };
        let categories = match read(dir, "categories.toml") {
            Ok(None) => None,
            Ok(Some(text)) => Some(parse_toml::<CategoriesDoc>("categories.toml", &text).map(
                |doc| Parsed {
                    file: "categories.toml".into(),
                    text,
                    value: doc.category,
                },
            )),
            Err(e) => Some(Err(e)),
        };
        let mut organisations = Vec::new();
        for rel in toml_files(&dir.join("organisations")) {
            let rel = format!("organisations/{rel}");
            let parsed = match read(dir, &rel) {
                Ok(Some(text)) => parse_toml::<OrganisationFile>(&rel, &text).map(|value| Parsed {
                    file: rel.clone(),
                    text,
                    value,
                }),
                Ok(None) => continue,
                Err(e) => Err(e),
            };
            organisations.push(parsed);
        }
        Self {
            programmes,
            categories,
            organisations,
        }
    }
}

/// `*.toml` names in a folder, sorted, so loading order never depends on the file system.
fn toml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = r#"slug = "x"
name = "X"

[[services]]
slug = "a"
name = "A"
summary = "s"
min_age = 10

[[services]]
slug = "b"
name = "B"
summary = "s"
min_age = 9
"#;

    #[test]
    fn locates_fields_in_the_right_table() {
        assert_eq!(locate(ORG, Some(("services", 1)), "min_age"), 14);
        assert_eq!(locate(ORG, Some(("services", 0)), "min_age"), 8);
        assert_eq!(locate(ORG, None, "name"), 2);
        assert_eq!(locate(ORG, Some(("services", 1)), "categories"), 10);
    }

    #[test]
    fn syntax_and_type_errors_name_line_and_field() {
        let err = parse_toml::<OrganisationFile>("o.toml", "slug = \"x\"\nname = 3\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("invalid type"), "{err}");
        let err =
            parse_toml::<OrganisationFile>("o.toml", "slug = \"x\"\nname = \"n\"\nnmae = 1\n")
                .unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.field, "nmae");
        let err = parse_toml::<OrganisationFile>("o.toml", "slug = \"x\nname=1").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
