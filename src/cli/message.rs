//! The one place the command line shapes what it tells the user on stderr: `error: WHAT` or
//! `warning: WHAT`, where WHAT may go on with hint lines (a line end and two spaces each),
//! ended by one line end. Every message names the file, option or field it is about and,
//! where there is one, the fix.

use std::fmt::Display;

/// `error: {what}` and a line end.
pub(crate) fn error(what: impl Display) -> String {
    format!("error: {what}\n")
}

/// `warning: {what}` and a line end.
pub(crate) fn warning(what: impl Display) -> String {
    format!("warning: {what}\n")
}

/// Prints a warning on stderr.
pub(crate) fn warn(what: impl Display) {
    eprint!("{}", warning(what));
}

/// An internal error: a bug of dsim's, not of the input.
pub fn internal(detail: impl Display) -> String {
    error(format_args!(
        "internal error (a dsim bug, please report it with the scenario){detail}"
    ))
}

/// What a message says, without its `error: ` and its last line end.
pub(crate) fn what(message: &str) -> &str {
    message
        .strip_prefix("error: ")
        .unwrap_or(message)
        .trim_end_matches('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_one_shape() {
        assert_eq!(
            error("x.json:1:2: bad\n  fix it"),
            "error: x.json:1:2: bad\n  fix it\n"
        );
        assert_eq!(warning(3), "warning: 3\n");
        assert_eq!(what(&error("a\n  b")), "a\n  b");
        assert!(internal(": boom").starts_with("error: internal error"));
    }
}
