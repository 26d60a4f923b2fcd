//! Scenario files: JSON text → raw serde types → a validated, typed `model::Scenario`.
//!
//! Every problem comes back as a `Diagnostic` with the JSON path, the line and column, what
//! was expected and, where one is close, a "did you mean". This module reads no files: the
//! CLI hands it text.

mod de;
pub mod locate;
pub mod overrides;
pub mod raw;
mod raw_components;
pub mod suggest;
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
        ScenarioError::Syntax(Diagnostic {
            path,
            line,
            column: column.max(1),
            message: explain(inner),
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

/// serde_json's message without its position suffix, plus a suggestion for unknown names.
fn explain(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let msg = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    let msg = msg
        .replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number ≥ 0")
        .replace("expected u32", "expected a whole number ≥ 0");
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
