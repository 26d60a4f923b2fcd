//! JUnit XML for `dsim check`: one test case per check, named by its figure alone (so a
//! test keeps its name when a limit or the baseline moves), and one test case in error when
//! the check could not run. Well-formed XML 1.0 whatever the names hold. Pure.

use crate::report::check::Verdict;
use std::fmt::Write;

/// Text made safe for XML 1.0 content and attribute values: markup escaped, line breaks and
/// tabs as character references (attributes would fold them), and the characters XML 1.0
/// cannot hold at all (controls, U+FFFE, U+FFFF) written out as `\u{…}`.
pub(crate) fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            _ => out.push(c),
        }
    }
    out
}

/// For CI systems: JUnit XML, one test case per check, named by the figure alone so a test
/// keeps its name when the baseline or the limit changes (they are in the message).
pub(crate) fn render_junit(scenario: &str, verdicts: &[Verdict]) -> String {
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{}\" failures=\"{failed}\" errors=\"0\"",
        verdicts.len()
    );
    let _ = writeln!(out, "<testsuites name=\"dsim check\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"{}\" {counts}>", xml(scenario));
    for v in verdicts {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\">",
            v.kind.name(),
            xml(&v.name)
        );
        if v.passed {
            let _ = write!(out, "<system-out>{}</system-out>", xml(&v.message()));
        } else {
            let _ = write!(
                out,
                "<failure type=\"{}\" message=\"{}\"/>",
                v.kind.name(),
                xml(&v.message())
            );
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// JUnit for a check that could not run (bad input, exit 2): one test case in error, so a CI
/// report shows why instead of a missing file.
pub(crate) fn render_junit_error(suite: &str, message: &str) -> String {
    let first = message.lines().next().unwrap_or("bad input");
    let counts = "tests=\"1\" failures=\"0\" errors=\"1\"";
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"dsim check\" {counts}>\n  \
         <testsuite name=\"{}\" {counts}>\n    <testcase classname=\"input\" name=\"check_ran\">\
         <error type=\"bad_input\" message=\"{}\">{}</error></testcase>\n  </testsuite>\n\
         </testsuites>\n",
        xml(suite),
        xml(first.strip_prefix("error: ").unwrap_or(first)),
        xml(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::check::CheckKind;

    /// JUnit stays well-formed XML 1.0 whatever the names hold (control characters
    /// included), counts failures, and names each test by its figure alone.
    #[test]
    fn junit_escapes_and_counts_failures() {
        let v = vec![
            Verdict::new(CheckKind::Slo, "p99_ms".into(), 250.0, 200.0, false),
            Verdict::new(
                CheckKind::Slo,
                "classes.a<b>\u{1}\u{7}x\n.p50_ms".into(),
                1.0,
                2.0,
                false,
            ),
        ];
        let x = render_junit("s&t\u{0}", &v);
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(x.contains("name=\"s&amp;t\\u{0}\""), "{x}");
        assert!(x.contains("a&lt;b&gt;\\u{1}\\u{7}x&#10;.p50_ms"), "{x}");
        assert!(
            x.contains(
                "name=\"p99_ms\"><failure type=\"slo\" message=\"p99_ms is 250, the limit ≤ 200\"/>"
            ),
            "{x}"
        );
        let forbidden = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
        assert!(!x.chars().any(forbidden), "{x:?}");
        let e = render_junit_error("f.json", "error: f.json:1:1: bad\n  fix it\n");
        assert!(e.contains("errors=\"1\""), "{e}");
        assert!(
            e.contains("<error type=\"bad_input\" message=\"f.json:1:1: bad\">"),
            "{e}"
        );
    }
}
