//! Local `$ref`s in an API description: followed through chains, cycles
//! stopped, external ones reported once and left unresolved.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::Value;

/// How deep a chain of `$ref`s to `$ref`s is followed before it counts as a cycle.
const MAX_CHAIN: usize = 64;

/// Follows `$ref`s inside one document.
pub(crate) struct Resolver<'a> {
    root: &'a Value,
    /// External, broken or circular references met so far, each reported once:
    /// the reference and whether it is a cycle.
    unresolved: RefCell<BTreeSet<(String, bool)>>,
}

impl<'a> Resolver<'a> {
    /// A resolver over the document `root`.
    pub(crate) fn new(root: &'a Value) -> Resolver<'a> {
        Resolver {
            root,
            unresolved: RefCell::default(),
        }
    }

    /// `value`, or what its `$ref` chain ends at; `None` for a reference that
    /// is external, broken or circular (remembered for a warning).
    pub(crate) fn resolve(&self, value: &'a Value) -> Option<&'a Value> {
        let mut current = value;
        for _ in 0..MAX_CHAIN {
            let Some(reference) = ref_of(current) else {
                return Some(current);
            };
            match self.target(reference) {
                Some(next) => current = next,
                None => {
                    self.unresolved
                        .borrow_mut()
                        .insert((reference.to_string(), false));
                    return None;
                }
            }
        }
        if let Some(reference) = ref_of(value) {
            self.unresolved
                .borrow_mut()
                .insert((reference.to_string(), true));
        }
        None
    }

    /// The references that could not be followed, sorted, each with whether it is a cycle.
    pub(crate) fn unresolved(&self) -> Vec<(String, bool)> {
        self.unresolved.borrow().iter().cloned().collect()
    }

    fn target(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        let decoded = percent_encoding::percent_decode_str(pointer)
            .decode_utf8()
            .ok()?;
        self.root.pointer(&decoded)
    }
}

/// The `$ref` of an object that is a reference.
pub(crate) fn ref_of(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_chains_and_stops_cycles_and_external_references() {
        let doc = json!({
            "a": {"$ref": "#/b"},
            "b": {"$ref": "#/c~1d"},
            "c/d": {"type": "string"},
            "loop1": {"$ref": "#/loop2"},
            "loop2": {"$ref": "#/loop1"},
            "ext": {"$ref": "other.yaml#/x"},
            "enc": {"$ref": "#/paths/~1pets~1%7Bid%7D"},
            "paths": {"/pets/{id}": {"get": {}}}
        });
        let r = Resolver::new(&doc);
        assert_eq!(r.resolve(&doc["a"]), Some(&json!({"type": "string"})));
        assert_eq!(r.resolve(&doc["loop1"]), None);
        assert_eq!(r.resolve(&doc["ext"]), None);
        assert_eq!(r.resolve(&doc["enc"]), Some(&json!({"get": {}})));
        let unresolved = r.unresolved();
        assert!(
            unresolved.contains(&("other.yaml#/x".into(), false)),
            "{unresolved:?}"
        );
        assert!(
            unresolved.contains(&("#/loop2".into(), true)),
            "{unresolved:?}"
        );
    }
}
