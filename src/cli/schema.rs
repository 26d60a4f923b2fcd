//! `dsim schema`: the JSON Schema of scenario files on stdout.

use crate::cli::{Failure, exit, output};

pub(super) fn schema() -> Result<u8, Failure> {
    let schema = crate::scenario::json_schema();
    let text = serde_json::to_string_pretty(&schema).map_err(anyhow::Error::from)?;
    output::print_stdout(&format!("{text}\n"))?;
    Ok(exit::OK)
}
