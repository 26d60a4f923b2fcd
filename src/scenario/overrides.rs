//! `--set PATH=VALUE`: changes to a scenario's JSON before it is read, so one file can be run
//! at other loads or sizes from the command line. The changed document then goes through the
//! same parsing and validation as a file, so an override is checked like the file itself.
//!
//! PATH is dotted (`workload.model.closed.users`), with `[i]` or a number for array items
//! (`faults[0].at_s`); the last key may be new (validation then says whether it is known).
//! VALUE is JSON when it parses as JSON (`2000`, `true`, `{"constant": {"ms": 5}}`), and a
//! string otherwise (`round_robin`).

use serde_json::Value;

/// One `PATH=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: String,
    pub value: Value,
}

/// Why an override cannot be applied; the message names the override and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("--set {text}: {problem}")]
pub struct OverrideError {
    pub text: String,
    pub problem: String,
}

impl Override {
    /// Parses `PATH=VALUE`.
    pub fn parse(text: &str) -> Result<Override, OverrideError> {
        let fail = |problem: &str| OverrideError {
            text: text.to_string(),
            problem: problem.to_string(),
        };
        let (path, value) = text
            .split_once('=')
            .ok_or_else(|| fail("expected PATH=VALUE, e.g. workload.model.closed.users=2000"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(fail("the path before `=` is empty"));
        }
        let value = match serde_json::from_str::<Value>(value.trim()) {
            // JSON, so read as the file is: a key given twice is refused, not dropped.
            Ok(_) => serde_json::from_str::<super::unique::StrictValue>(value.trim())
                .map(|v| v.0)
                .map_err(|e| fail(&e.to_string()))?,
            Err(_) => Value::String(value.trim().to_string()),
        };
        Ok(Override {
            path: path.to_string(),
            value,
        })
    }

    /// The path's steps: object keys, and array indices from `[i]` or numeric segments.
    fn steps(&self) -> Vec<String> {
        self.path
            .replace('[', ".")
            .replace(']', "")
            .split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Sets the value in `doc`.
    pub fn apply(&self, doc: &mut Value) -> Result<(), OverrideError> {
        let fail = |problem: String| OverrideError {
            text: format!("{}={}", self.path, self.value),
            problem,
        };
        let steps = self.steps();
        let (last, parents) = steps
            .split_last()
            .ok_or_else(|| fail("the path is empty".into()))?;
        let mut at = doc;
        let mut walked = Vec::new();
        for step in parents {
            // The closest key at this level, for a misspelt step.
            let near = match &*at {
                Value::Object(map) => {
                    crate::scenario::suggest::closest(step, map.keys().map(String::as_str)).map(
                        |k| {
                            [walked.join("."), k.to_string()]
                                .join(".")
                                .trim_start_matches('.')
                                .to_string()
                        },
                    )
                }
                _ => None,
            };
            walked.push(step.as_str());
            at = match at {
                Value::Object(map) => map.get_mut(step.as_str()),
                Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| {
                let hint = near.map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                fail(format!(
                    "the scenario has nothing at `{}`{hint} (a new field can only be the \
                     last step of the path: write out the enclosing object in the file first)",
                    walked.join(".")
                ))
            })?;
        }
        match at {
            Value::Object(map) => {
                map.insert(last.clone(), self.value.clone());
                Ok(())
            }
            Value::Array(items) => {
                let len = items.len();
                let slot = last.parse::<usize>().ok().and_then(|i| items.get_mut(i));
                let slot = slot.ok_or_else(|| {
                    fail(format!("`{last}` is not an index of that list (0..{len})"))
                })?;
                *slot = self.value.clone();
                Ok(())
            }
            _ => Err(fail(format!(
                "`{}` is a single value, not an object or a list",
                parents.join(".")
            ))),
        }
    }
}

/// Applies `overrides` in order to the JSON `text` and returns the changed document.
pub fn apply_all(text: &str, overrides: &[Override]) -> Result<String, OverrideError> {
    let mut doc: Value = serde_json::from_str(text).map_err(|e| OverrideError {
        text: String::new(),
        problem: format!("the file is not valid JSON ({e})"),
    })?;
    for o in overrides {
        o.apply(&mut doc)?;
    }
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(doc: &mut Value, text: &str) -> Result<(), OverrideError> {
        Override::parse(text)?.apply(doc)
    }

    #[test]
    fn values_are_json_when_they_parse_and_strings_otherwise() {
        let mut doc = json!({"workload": {"model": {"closed": {"users": 10}}},
            "components": {"lb": {"policy": "random"}}, "faults": [{"at_s": 1}]});
        set(&mut doc, "workload.model.closed.users=2000").unwrap();
        set(&mut doc, "components.lb.policy=round_robin").unwrap();
        set(&mut doc, "faults[0].at_s=2.5").unwrap();
        set(
            &mut doc,
            r#"workload.model.closed.think_time_ms={"constant": {"ms": 5}}"#,
        )
        .unwrap();
        assert_eq!(doc["workload"]["model"]["closed"]["users"], json!(2000));
        assert_eq!(doc["components"]["lb"]["policy"], json!("round_robin"));
        assert_eq!(doc["faults"][0]["at_s"], json!(2.5));
        assert_eq!(
            doc["workload"]["model"]["closed"]["think_time_ms"],
            json!({"constant": {"ms": 5}})
        );
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        let mut doc = json!({"workload": {"entry": "api"}, "faults": []});
        assert_eq!(
            Override::parse("users").unwrap_err().problem,
            "expected PATH=VALUE, e.g. workload.model.closed.users=2000"
        );
        let e = set(&mut doc, "workload.model.closed.users=5").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--set workload.model.closed.users=5: the scenario has nothing at `workload.model` \
             (a new field can only be the last step of the path: write out the enclosing object \
             in the file first)"
        );
        let mut open = json!({"workload": {"model": {"open": {}}}});
        let e = set(&mut open, "workload.modle.open.rate_per_s=5").unwrap_err();
        assert!(e.problem.contains("did you mean `workload.model`?"), "{e}");
        let e = set(&mut doc, "faults[3]=1").unwrap_err();
        assert!(
            e.problem.contains("not an index of that list (0..0)"),
            "{e}"
        );
        let e = set(&mut doc, "workload.entry.x=1").unwrap_err();
        assert!(e.problem.contains("is a single value"), "{e}");
        let e = Override::parse(r#"workload.model={"open": {}, "open": {"rate_per_s": 1}}"#);
        assert!(e.is_err_and(|e| e.problem.contains("`open` is given twice")));
    }
}
