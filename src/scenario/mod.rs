//! Scenario files: JSON text → raw serde types → a validated, typed `model::Scenario`.
//!
//! Every problem comes back as a `Diagnostic` with the JSON path, the line and column, what
//! was expected and, where one is close, a "did you mean". This module reads no files: the
//! CLI hands it text.

mod de;
pub mod lint;
pub mod locate;
pub mod overrides;
pub mod raw;
mod raw_components;
mod raw_database;
mod raw_elastic;
mod raw_gateway;
mod raw_messaging;
pub mod suggest;
mod unique;
pub mod validate;

use crate::model::Scenario;
use raw::RawScenario;
use std::fmt;

/// One problem in a scenario file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Dotted JSON path, empty for the document itself.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.line, self.column, self.path, self.message
            )
        }
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not JSON, or JSON of the wrong shape (stops at the first such problem).
    #[error("{0}")]
    Syntax(Diagnostic),
    /// Well-formed but wrong values (every one found).
    #[error("{} problem(s)", .0.len())]
    Invalid(Vec<Diagnostic>),
}

impl ScenarioError {
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            ScenarioError::Syntax(d) => vec![d.clone()],
            ScenarioError::Invalid(ds) => ds.clone(),
        }
    }
}

/// Parses JSON text into raw types, with the path of the first shape error.
pub fn parse(text: &str) -> Result<RawScenario, ScenarioError> {
    if let Some(d) = not_an_object(text) {
        return Err(ScenarioError::Syntax(d));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawScenario = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let (line, column) = (inner.line(), inner.column());
        let path = if path == "." || path == "?" {
            String::new()
        } else {
            path
        };
        let message = if comment_at(text, line, column) {
            "JSON has no comments: remove the `//` or `/* */` comment (the README's annotated \
             example is for reading only), or move the text into \"description\""
                .to_string()
        } else {
            explain(inner)
        };
        ScenarioError::Syntax(Diagnostic {
            path,
            line,
            column: column.max(1),
            message,
        })
    })?;
    de.end().map_err(|e| {
        ScenarioError::Syntax(Diagnostic {
            path: String::new(),
            line: e.line(),
            column: e.column(),
            message: "unexpected text after the scenario object".into(),
        })
    })?;
    Ok(raw)
}

/// A sentence for text that is not a JSON object at all: a byte-order mark, a comment, or a
/// list, `null`, a string, a number or a boolean where the scenario object should be.
fn not_an_object(text: &str) -> Option<Diagnostic> {
    let at = |line: usize, column: usize, message: &str| Diagnostic {
        path: String::new(),
        line,
        column,
        message: message.to_string(),
    };
    if text.starts_with('\u{feff}') {
        return Some(at(
            1,
            1,
            "the file starts with a byte-order mark (BOM), which JSON does not allow: save it \
             as UTF-8 without BOM",
        ));
    }
    let start = text.len() - text.trim_start().len();
    let line = text[..start].matches('\n').count() + 1;
    let column = start - text[..start].rfind('\n').map_or(0, |i| i + 1) + 1;
    let what = match text[start..].chars().next()? {
        '{' => return None,
        '/' => return None, // a comment: reported with its position by `parse`
        '[' => "a list",
        'n' => "`null`",
        '"' => "a string",
        't' | 'f' => "a boolean",
        '-' | '0'..='9' => "a number",
        _ => return None,
    };
    Some(at(
        line,
        column,
        &format!(
            "the file holds {what}, but a scenario is one JSON object: {{\"name\": …, \
             \"duration_s\": …, \"workload\": …, \"components\": …}} (see scenarios/)"
        ),
    ))
}

/// Whether a `//` or `/*` comment starts at (or just before) a 1-based line and column.
fn comment_at(text: &str, line: usize, column: usize) -> bool {
    let Some(row) = text.lines().nth(line.saturating_sub(1)) else {
        return false;
    };
    let i = column.saturating_sub(1).min(row.len());
    [i, i.saturating_sub(1)].iter().any(|&i| {
        row.get(i..)
            .is_some_and(|r| r.starts_with("//") || r.starts_with("/*"))
    })
}

/// serde_json names a number written without a fraction but too big for an integer
/// "floating point `1e+20`": say `100000000000000000000`, as it was written, or `1e308` (not
/// 309 digits) when it is huge.
fn plain_numbers(msg: &str) -> String {
    const FLOAT: &str = "invalid type: floating point `";
    let Some(start) = msg.find(FLOAT) else {
        return msg.to_string();
    };
    let rest = &msg[start + FLOAT.len()..];
    let Some(end) = rest.find('`') else {
        return msg.to_string();
    };
    let written = &rest[..end];
    let shown = match written.parse::<f64>() {
        Ok(x) if x.fract() == 0.0 && x.abs() < 1e21 => format!("{x:.0}"),
        _ => written.replace("e+", "e"),
    };
    format!(
        "{}invalid value: number `{shown}`{}",
        &msg[..start],
        &rest[end + 1..]
    )
}

/// serde_json's message without its position suffix, plus a suggestion for unknown names.
fn explain(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let msg = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    let msg = plain_numbers(&msg)
        .replace("expected f64", "expected a number")
        .replace(
            "expected u64",
            "expected a whole number from 0 to 18446744073709551615",
        )
        .replace(
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        )
        .replace("expected u16", "expected a whole number from 0 to 65535")
        .replace("expected u8", "expected a whole number from 0 to 255");
    for prefix in ["unknown field `", "unknown variant `"] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((name, expected)) = rest.split_once('`')
        {
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            return format!("{msg}{}", suggest::hint(name, candidates));
        }
    }
    if e.is_eof() {
        return format!("{msg}: the file ends too early (a missing `}}` or `]`?)");
    }
    msg
}

/// Validates raw types, locating each problem in `text`.
pub fn check(text: &str, raw: &RawScenario) -> Result<Scenario, ScenarioError> {
    validate::validate(raw).map_err(|problems| {
        ScenarioError::Invalid(
            problems
                .into_iter()
                .map(|p| {
                    let (line, column) = locate::locate(text, &p.path);
                    Diagnostic {
                        path: p.path,
                        line,
                        column,
                        message: p.message,
                    }
                })
                .collect(),
        )
    })
}

/// Parses and validates `text`.
pub fn load(text: &str) -> Result<Scenario, ScenarioError> {
    let raw = parse(text)?;
    check(text, &raw)
}

/// The JSON Schema of scenario files.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawScenario)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_error(text: &str) -> String {
        match parse(text) {
            Err(ScenarioError::Syntax(d)) => d.to_string(),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    /// Numbers in messages read as they were written, with the real range of the field.
    #[test]
    fn whole_numbers_are_named_as_written_with_their_range() {
        let with = |cores: &str| {
            first_error(&format!(
                r#"{{"name": "x", "duration_s": 1, "workload": {{"model": {{"open": {{"rate_per_s": 1}}}}, "entry": "a"}},
                "components": {{"a": {{"kind": "service", "machine": {{"cores": {cores}}}, "handlers": {{}}}}}}}}"#
            ))
        };
        let range = "expected a whole number from 0 to 4294967295";
        assert!(
            with("4294967296").contains(&format!("integer `4294967296`, {range}")),
            "{}",
            with("4294967296")
        );
        assert!(
            with("100000000000000000000").contains(&format!(
                "invalid value: number `100000000000000000000`, {range}"
            )),
            "{}",
            with("100000000000000000000")
        );
        assert!(
            with("1e308").contains(&format!("invalid value: number `1e308`, {range}")),
            "{}",
            with("1e308")
        );
        assert!(with("2.5").contains(&format!("invalid value: number `2.5`, {range}")));
    }

    #[test]
    fn what_is_not_an_object_gets_a_sentence() {
        assert!(first_error("\u{feff}{}").contains("byte-order mark"));
        assert!(first_error("  [1]").starts_with("1:3: the file holds a list"));
        assert!(first_error("null").contains("holds `null`"));
        assert!(
            first_error("{\n  // note\n  \"name\": 1}").starts_with("2:3: JSON has no comments")
        );
    }
}
