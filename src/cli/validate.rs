//! `dsim validate FILE`: load and check a scenario without running it.

use crate::cli::{Failure, exit, output};
use std::path::Path;

pub fn validate(file: &Path) -> Result<u8, Failure> {
    let scenario = output::load_scenario(file)?;
    output::print_stdout(&format!(
        "{}: valid ({} components, {} request classes)\n",
        file.display(),
        scenario.components.len(),
        scenario.workload.classes.len()
    ))?;
    Ok(exit::OK)
}
