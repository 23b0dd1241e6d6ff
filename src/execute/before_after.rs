//! What two answers of a write's verify request make: the trace (`none`,
//! `changed`, `gone`, `n/a`), and where the answers differ.

use crate::outcome::Comparable;
use crate::suite::verify::Trace;

/// How many differing places a `changed` trace names.
const SHOWN_DIFFERENCES: usize = 3;

/// What a verify request read.
pub(super) enum Read {
    /// An answer, its body as it is compared.
    Answer {
        /// Its status.
        status: u16,
        /// Its body, `ignore` pointers dropped.
        body: Comparable,
    },
    /// No answer to compare (masked).
    Failed(String),
}

/// The trace two verify answers make, with what says why.
pub(super) fn trace_of(before: &Read, after: &Read) -> (Trace, Option<String>) {
    let (before, after) = match (before, after) {
        (Read::Failed(why), _) => {
            return (
                Trace::NotApplicable,
                Some(format!(
                    "the verify request before the cell got no answer: {why}"
                )),
            );
        }
        (_, Read::Failed(why)) => {
            return (
                Trace::NotApplicable,
                Some(format!(
                    "the verify request after the cell got no answer: {why}"
                )),
            );
        }
        (
            Read::Answer {
                status: s1,
                body: b1,
            },
            Read::Answer {
                status: s2,
                body: b2,
            },
        ) => ((*s1, b1), (*s2, b2)),
    };
    let absent = |status: u16| matches!(status, 404 | 410);
    let ok = |status: u16| (200..300).contains(&status);
    match (before.0, after.0) {
        (s1, s2) if ok(s1) && ok(s2) => {
            let differences = differences(before.1, after.1);
            if differences.is_empty() {
                (Trace::None, None)
            } else {
                (
                    Trace::Changed,
                    Some(format!("at {}", differences.join(", "))),
                )
            }
        }
        (s1, s2) if ok(s1) && absent(s2) => (Trace::Gone, Some(format!("verify {s1} → {s2}"))),
        (s1, s2) if ok(s1) => (Trace::Changed, Some(format!("verify {s1} → {s2}"))),
        (s1, s2) if absent(s1) && absent(s2) => (Trace::None, None),
        (s1, s2) if absent(s1) && ok(s2) => (
            Trace::Changed,
            Some(format!("verify {s1} → {s2}: the write created it")),
        ),
        (s1, s2) => (
            Trace::NotApplicable,
            Some(format!(
                "the verify request got {s1} before the cell and {s2} after: its principal may not read what the write changes"
            )),
        ),
    }
}

/// Where two compared bodies differ, as JSON pointers (the first few, `…`
/// after), or `the body` when one is not JSON; empty when they are the same.
fn differences(before: &Comparable, after: &Comparable) -> Vec<String> {
    if before == after {
        return Vec::new();
    }
    let (Comparable::Json(a), Comparable::Json(b)) = (before, after) else {
        return vec!["the body".into()];
    };
    let mut found = Vec::new();
    walk(a, b, &mut String::new(), &mut found);
    if found.len() > SHOWN_DIFFERENCES {
        found.truncate(SHOWN_DIFFERENCES);
        found.push("…".into());
    }
    found
}

/// Collects the pointers where `a` and `b` differ, up to one past the shown number.
fn walk(a: &serde_json::Value, b: &serde_json::Value, at: &mut String, found: &mut Vec<String>) {
    use serde_json::Value;
    if found.len() > SHOWN_DIFFERENCES || a == b {
        return;
    }
    let here = |at: &str| {
        if at.is_empty() {
            "/".to_string()
        } else {
            at.to_string()
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                match (x.get(key), y.get(key)) {
                    (Some(v), Some(w)) => walk(v, w, at, found),
                    _ => found.push(at.clone()),
                }
                at.truncate(len);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                walk(v, w, at, found);
                at.truncate(len);
            }
        }
        _ => found.push(here(at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: serde_json::Value) -> Read {
        Read::Answer {
            status,
            body: Comparable::Json(body),
        }
    }

    #[test]
    fn traces_from_two_answers() {
        let same = trace_of(&answer(200, json!({"a": 1})), &answer(200, json!({"a": 1})));
        assert_eq!(same, (Trace::None, None));
        let changed = trace_of(
            &answer(200, json!({"a": 1, "b": [1, 2]})),
            &answer(200, json!({"a": 2, "b": [1, 3], "c": true})),
        );
        assert_eq!(
            changed,
            (Trace::Changed, Some("at /a, /b/1, /c".to_string()))
        );
        let gone = trace_of(&answer(200, json!({})), &answer(404, json!({})));
        assert_eq!(gone.0, Trace::Gone);
        let created = trace_of(&answer(404, json!({})), &answer(201, json!({})));
        assert_eq!(created.0, Trace::Changed);
        let unseen = trace_of(&answer(403, json!({})), &answer(403, json!({})));
        assert_eq!(unseen.0, Trace::NotApplicable);
        let lost = trace_of(&answer(200, json!({})), &answer(403, json!({})));
        assert_eq!(
            lost.0,
            Trace::Changed,
            "the verifier lost access: an ACL changed"
        );
        let failed = trace_of(&Read::Failed("timeout".into()), &answer(200, json!({})));
        assert_eq!(failed.0, Trace::NotApplicable);
    }

    #[test]
    fn differences_are_named_by_pointer_and_capped() {
        let a = Comparable::Json(json!({"a/b": 1, "c": 1, "d": 1, "e": 1, "f": 1}));
        let b = Comparable::Json(json!({"a/b": 2, "c": 2, "d": 2, "e": 2, "f": 2}));
        assert_eq!(differences(&a, &b), ["/a~1b", "/c", "/d", "…"]);
        let text = Comparable::Text(b"x".to_vec());
        assert_eq!(differences(&a, &text), ["the body"]);
        let root = Comparable::Json(json!([1]));
        let longer = Comparable::Json(json!([1, 2]));
        assert_eq!(differences(&root, &longer), ["/"]);
    }
}
