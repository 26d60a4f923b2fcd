//! `dsim validate FILE`: load and check a scenario without running it; warn (exit 0 still)
//! about what is valid but almost surely a slip.

use crate::cli::{Failure, exit, output};
use std::path::Path;

pub(super) fn validate(file: &Path) -> Result<u8, Failure> {
    let (scenario, text) = output::load_scenario_and_text(file, &[])?;
    output::warn_slips(file, &text, &scenario, &[], false);
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    output::print_stdout(&format!(
        "{}: valid ({}, {})\n",
        file.display(),
        plural(scenario.components.len(), "component", "components"),
        plural(
            scenario.workload.classes.len(),
            "request class",
            "request classes"
        )
    ))?;
    Ok(exit::OK)
}
