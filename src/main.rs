//! The `dsim` binary: a shim over the library's CLI that maps panics to exit code 3.

use std::process::ExitCode;

fn main() -> ExitCode {
    match std::panic::catch_unwind(|| dsim::cli::main_with_args(std::env::args_os())) {
        Ok(code) => code,
        Err(_) => {
            eprint!("{}", dsim::cli::message::internal(""));
            ExitCode::from(dsim::cli::exit::INTERNAL)
        }
    }
}
