//! Finds where a JSON path (`components.api.machine.cores`, `steps[2].at_s`) sits in the
//! source text, so validation problems can name a line and column like syntax errors do.
//!
//! A small scanner over already-valid JSON; when a path does not appear (a defaulted field),
//! it answers with the deepest enclosing value that does.

/// One step of a path.
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(close) = rest.find(']') {
            if let Ok(i) = rest[1..close].parse() {
                out.push(Segment::Index(i));
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

struct Scanner<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A string's raw contents (escapes left as written); the scanner is after it.
    fn string(&mut self) -> Option<&[u8]> {
        self.ws();
        if self.s.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut i = start;
        while i < self.s.len() {
            match self.s[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return Some(&self.s[start..i]);
                }
                _ => i += 1,
            }
        }
        None
    }

    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        match *self.s.get(self.pos)? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                while self.pos < self.s.len() {
                    match self.s[self.pos] {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                None
            }
            _ => {
                while self.pos < self.s.len() && !b",}] \t\r\n".contains(&self.s[self.pos]) {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// Byte offset of the value at `path`, or of the deepest prefix found.
    fn find(&mut self, path: &[Segment]) -> usize {
        self.ws();
        let here = self.pos;
        let Some((first, rest)) = path.split_first() else {
            return here;
        };
        match first {
            Segment::Key(want) => {
                if !self.eat(b'{') {
                    return here;
                }
                loop {
                    let Some(key) = self.string() else {
                        return here;
                    };
                    let matched = key == want.as_bytes();
                    if !self.eat(b':') {
                        return here;
                    }
                    if matched {
                        return self.find(rest);
                    }
                    if self.skip_value().is_none() || !self.eat(b',') {
                        return here;
                    }
                }
            }
            Segment::Index(want) => {
                if !self.eat(b'[') {
                    return here;
                }
                for _ in 0..*want {
                    if self.skip_value().is_none() || !self.eat(b',') {
                        return here;
                    }
                }
                self.find(rest)
            }
        }
    }
}

/// 1-based (line, column) of the value at `path` in `text` (columns count characters).
pub fn locate(text: &str, path: &str) -> (usize, usize) {
    let segs = segments(path);
    let mut scanner = Scanner {
        s: text.as_bytes(),
        pos: 0,
    };
    let offset = scanner.find(&segs).min(text.len());
    line_column(text, offset)
}

/// 1-based (line, column) of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "{\n  \"a\": {\"b\": [1, {\"c\": \"x\\\"}\"}],\n    \"d\": 2},\n  \"e\": 3\n}";

    #[test]
    fn finds_nested_keys_and_indices() {
        assert_eq!(locate(DOC, "e"), (4, 8));
        assert_eq!(locate(DOC, "a.d"), (3, 10));
        assert_eq!(locate(DOC, "a.b[1].c"), (2, 24));
        assert_eq!(locate(DOC, "a.b[0]"), (2, 15));
    }

    #[test]
    fn missing_paths_fall_back_to_the_deepest_prefix() {
        assert_eq!(locate(DOC, "a.zzz"), (2, 8));
        assert_eq!(locate(DOC, "nope"), (1, 1));
    }

    #[test]
    fn splits_paths() {
        assert_eq!(
            segments("x.y[2][0].z"),
            vec![
                Segment::Key("x"),
                Segment::Key("y"),
                Segment::Index(2),
                Segment::Index(0),
                Segment::Key("z")
            ]
        );
    }
}
