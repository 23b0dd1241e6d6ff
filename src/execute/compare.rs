//! Response comparison: each cell of an endpoint with `compare:` gets a body
//! fact (`same`, `differs`, `n/a`) against the reference principal's cell,
//! judged against `expect_body` once every cell has finished.

use std::collections::HashMap;

use crate::outcome::{BodyComparison, CellOutcome, CellResult, Comparable, Verdict};
use crate::suite::Suite;
use crate::suite::compare::BodyFact;

/// The body of a response as it is compared: JSON with the `ignore` pointers
/// dropped, other bodies trimmed; `None` when it is empty.
pub(super) fn comparable(body: &[u8], ignore: &[String]) -> Comparable {
    let text = body.trim_ascii();
    if text.is_empty() {
        return Comparable::Empty;
    }
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(mut json) => {
            for pointer in ignore {
                remove(&mut json, pointer);
            }
            Comparable::Json(json)
        }
        Err(_) => Comparable::Text(text.to_vec()),
    }
}

/// Removes what `pointer` names; a `*` segment stands for every member of
/// an object or element of an array (`/items/*/updated_at`).
fn remove(value: &mut serde_json::Value, pointer: &str) {
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    remove_at(value, &segments);
}

fn remove_at(value: &mut serde_json::Value, segments: &[String]) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    if rest.is_empty() {
        match value {
            serde_json::Value::Object(map) if first == "*" => map.clear(),
            serde_json::Value::Object(map) => {
                map.shift_remove(first.as_str());
            }
            // An element is blanked, not removed: the rest keep their places.
            serde_json::Value::Array(items) if first == "*" => {
                items.iter_mut().for_each(|i| *i = serde_json::Value::Null)
            }
            serde_json::Value::Array(items) => {
                if let Some(item) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    *item = serde_json::Value::Null;
                }
            }
            _ => {}
        }
        return;
    }
    match value {
        serde_json::Value::Object(map) if first == "*" => {
            map.values_mut().for_each(|v| remove_at(v, rest))
        }
        serde_json::Value::Object(map) => {
            if let Some(inner) = map.get_mut(first.as_str()) {
                remove_at(inner, rest);
            }
        }
        serde_json::Value::Array(items) if first == "*" => {
            items.iter_mut().for_each(|v| remove_at(v, rest))
        }
        serde_json::Value::Array(items) => {
            if let Some(inner) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                remove_at(inner, rest);
            }
        }
        _ => {}
    }
}

/// Whether the outcome's report waits for the comparison.
pub(super) fn waits(suites: &[Suite], outcome: &CellOutcome) -> bool {
    suites[outcome.id.suite].endpoints[outcome.id.endpoint]
        .compare
        .is_some()
}

/// Sets each compared cell's body fact and judges it against `expect_body`:
/// a cell whose status passed fails when its body fact is not the one
/// expected. A cell whose reference did not run (an interrupted run) gets none.
pub(super) fn apply(suites: &[Suite], outcomes: &mut [CellOutcome]) {
    // The reference cells' bodies by (suite, endpoint).
    let references: HashMap<(usize, usize), Option<Comparable>> = outcomes
        .iter()
        .filter(|o| suites[o.id.suite].reference_of(o.id.endpoint) == Some(o.id.principal))
        .map(|o| ((o.id.suite, o.id.endpoint), body_of(o)))
        .collect();
    for outcome in outcomes.iter_mut() {
        let endpoint = &suites[outcome.id.suite].endpoints[outcome.id.endpoint];
        let Some(compare) = &endpoint.compare else {
            continue;
        };
        let Some(theirs) = references.get(&(outcome.id.suite, outcome.id.endpoint)) else {
            continue;
        };
        let body = BodyComparison {
            with: compare.with.clone(),
            fact: fact(body_of(outcome).as_ref(), theirs.as_ref()),
            expected: endpoint
                .resolved_body
                .get(outcome.id.principal)
                .copied()
                .flatten(),
        };
        if outcome.verdict == Verdict::Passed && body.mismatched() {
            outcome.verdict = Verdict::Failed;
        }
        outcome.body = Some(body);
    }
}

/// The body a cell compares with, when it got a response.
fn body_of(outcome: &CellOutcome) -> Option<Comparable> {
    match &outcome.result {
        CellResult::Responded(observation) => observation.comparable.clone(),
        _ => None,
    }
}

/// How a cell's body compares with the reference cell's (`None`: no response).
fn fact(mine: Option<&Comparable>, theirs: Option<&Comparable>) -> BodyFact {
    match (mine, theirs) {
        (Some(Comparable::Empty), _) | (_, Some(Comparable::Empty)) => BodyFact::NotApplicable,
        (Some(mine), Some(theirs)) if mine == theirs => BodyFact::Same,
        (Some(_), Some(_)) => BodyFact::Differs,
        _ => BodyFact::NotApplicable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compared(body: &str, ignore: &[&str]) -> Comparable {
        let ignore: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
        comparable(body.as_bytes(), &ignore)
    }

    #[test]
    fn json_is_compared_structurally_with_ignored_pointers_dropped() {
        let a = compared(
            r#"{"id": 1, "text": "x", "updated_at": 5}"#,
            &["/updated_at"],
        );
        let b = compared(
            "{ \"text\" : \"x\",\n \"id\": 1, \"updated_at\": 9 }",
            &["/updated_at"],
        );
        assert_eq!(a, b);
        assert_ne!(
            compared(r#"{"id": 1, "updated_at": 5}"#, &[]),
            compared(r#"{"id": 1, "updated_at": 9}"#, &[])
        );
        let list = |at: u32| {
            compared(
                &format!(r#"{{"items": [{{"id": 1, "at": {at}}}, {{"id": 2, "at": {at}}}]}}"#),
                &["/items/*/at"],
            )
        };
        assert_eq!(list(1), list(2));
    }

    #[test]
    fn text_is_trimmed_and_empty_bodies_are_empty() {
        assert_eq!(compared(" hello\n", &[]), compared("hello", &[]));
        assert_ne!(compared("hello", &[]), compared("Hello", &[]));
        assert_eq!(compared(" \n", &[]), Comparable::Empty);
        assert_ne!(compared("{\"a\": 1}", &[]), compared("{\"a\": 1", &[]));
    }

    #[test]
    fn pointers_with_escapes_and_indices() {
        let mut value = serde_json::json!({"a/b": 1, "list": [1, 2, 3], "keep": true});
        remove(&mut value, "/a~1b");
        remove(&mut value, "/list/1");
        remove(&mut value, "/missing/deeper");
        assert_eq!(
            value,
            serde_json::json!({"list": [1, null, 3], "keep": true})
        );
    }
}
