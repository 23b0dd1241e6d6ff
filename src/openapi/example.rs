//! Example values for parameters and request bodies: the document's own
//! examples first, else the smallest value its schema accepts.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::refs::{Resolver, ref_of};

/// How deep a schema is followed for a minimal body (deeper required objects are `{}`).
const MAX_DEPTH: usize = 12;

/// The document's example for a parameter or media type object, in the
/// order OpenAPI ranks them: `example`, the first of `examples`, 2.0's
/// `x-example`, then the schema's `example`, first `examples`, `default`, first `enum`.
pub(crate) fn declared(object: &Value, resolver: &Resolver<'_>) -> Option<Value> {
    if let Some(example) = object.get("example") {
        return Some(example.clone());
    }
    if let Some(first) = object
        .get("examples")
        .and_then(Value::as_object)
        .and_then(|examples| examples.values().next())
        && let Some(value) = resolver.resolve(first).and_then(|e| e.get("value"))
    {
        return Some(value.clone());
    }
    if let Some(example) = object.get("x-example") {
        return Some(example.clone());
    }
    // 2.0 non-body parameters carry their schema inline.
    if let Some(value) = schema_example(object) {
        return Some(value);
    }
    let schema = resolver.resolve(object.get("schema")?)?;
    schema_example(schema)
}

/// A schema's own `const`, `example`, first `examples`, `default` or first `enum`.
fn schema_example(schema: &Value) -> Option<Value> {
    if let Some(value) = schema.get("const") {
        return Some(value.clone());
    }
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    if let Some(first) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return Some(first.clone());
    }
    if let Some(default) = schema.get("default") {
        return Some(default.clone());
    }
    schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .cloned()
}

/// The schema's type (3.1 allows a list: the first that is not `null`).
pub(crate) fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

/// The smallest JSON value `schema` accepts: an object of its required
/// properties, each at its own minimal value; examples where given.
pub(crate) fn minimal(schema: &Value, resolver: &Resolver<'_>) -> Value {
    minimal_at(schema, resolver, 0, &mut BTreeSet::new())
}

fn minimal_at(
    schema: &Value,
    resolver: &Resolver<'_>,
    depth: usize,
    seen: &mut BTreeSet<String>,
) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let reference = ref_of(schema).map(str::to_string);
    if let Some(reference) = &reference
        && !seen.insert(reference.clone())
    {
        // A required property that leads back to itself: stop here.
        return Value::Null;
    }
    let value = match resolver.resolve(schema) {
        Some(resolved) => minimal_resolved(resolved, resolver, depth, seen),
        None => Value::Null,
    };
    if let Some(reference) = &reference {
        seen.remove(reference);
    }
    value
}

fn minimal_resolved(
    schema: &Value,
    resolver: &Resolver<'_>,
    depth: usize,
    seen: &mut BTreeSet<String>,
) -> Value {
    if let Some(example) = schema_example(schema) {
        return example;
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        let mut merged = Map::new();
        for part in parts {
            match minimal_at(part, resolver, depth + 1, seen) {
                Value::Object(fields) => merged.extend(fields),
                other if parts.len() == 1 => return other,
                _ => {}
            }
        }
        // allOf may also list required properties of its own beside the parts.
        if let Value::Object(own) = object_of_required(schema, resolver, depth, seen) {
            merged.extend(own);
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|alternatives| alternatives.first())
        {
            return minimal_at(first, resolver, depth + 1, seen);
        }
    }
    let kind = type_of(schema).or_else(|| {
        (schema.get("properties").is_some() || schema.get("required").is_some()).then_some("object")
    });
    match kind {
        Some("object") => object_of_required(schema, resolver, depth, seen),
        Some("array") => {
            let wanted = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            match (wanted, schema.get("items")) {
                (1.., Some(items)) => json!([minimal_at(items, resolver, depth + 1, seen)]),
                _ => json!([]),
            }
        }
        Some("integer") | Some("number") => schema
            .get("minimum")
            .filter(|m| m.is_number())
            .cloned()
            .unwrap_or(json!(1)),
        Some("boolean") => json!(false),
        Some("string") => json!(string_for(schema.get("format").and_then(Value::as_str))),
        _ => Value::Null,
    }
}

fn object_of_required(
    schema: &Value,
    resolver: &Resolver<'_>,
    depth: usize,
    seen: &mut BTreeSet<String>,
) -> Value {
    let mut fields = Map::new();
    let properties = schema.get("properties").and_then(Value::as_object);
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let value = match properties.and_then(|p| p.get(name)) {
            Some(property) => minimal_at(property, resolver, depth + 1, seen),
            None => json!("string"),
        };
        fields.insert(name.to_string(), value);
    }
    Value::Object(fields)
}

/// A plausible string for a `format`.
pub fn string_for(format: Option<&str>) -> &'static str {
    match format {
        Some("date-time") => "2024-01-01T00:00:00Z",
        Some("date") => "2024-01-01",
        Some("time") => "00:00:00",
        Some("uuid") => "00000000-0000-0000-0000-000000000000",
        Some("email") => "user@example.com",
        Some("uri" | "url") => "https://example.com/",
        Some("ipv4") => "127.0.0.1",
        _ => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_bodies_hold_required_properties_and_stop_at_cycles() {
        let doc = json!({"components": {"schemas": {
            "Pet": {"type": "object", "required": ["name", "owner", "tags"], "properties": {
                "name": {"type": "string"},
                "owner": {"$ref": "#/components/schemas/Person"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "age": {"type": "integer"}
            }},
            "Person": {"type": "object", "required": ["pet", "id"], "properties": {
                "pet": {"$ref": "#/components/schemas/Pet"},
                "id": {"type": ["integer", "null"], "minimum": 5}
            }}
        }}});
        let r = Resolver::new(&doc);
        let body = minimal(&json!({"$ref": "#/components/schemas/Pet"}), &r);
        assert_eq!(
            body,
            json!({"name": "string", "owner": {"pet": null, "id": 5}, "tags": []})
        );
    }

    #[test]
    fn declared_examples_are_ranked_as_openapi_ranks_them() {
        let doc = json!({});
        let r = Resolver::new(&doc);
        let param = json!({"schema": {"enum": ["a", "b"], "default": "b"}, "examples": {"x": {"value": "c"}}});
        assert_eq!(declared(&param, &r), Some(json!("c")));
        let param = json!({"schema": {"enum": ["a", "b"]}});
        assert_eq!(declared(&param, &r), Some(json!("a")));
        let swagger2 = json!({"type": "integer", "default": 7});
        assert_eq!(declared(&swagger2, &r), Some(json!(7)));
        assert_eq!(declared(&json!({"schema": {"type": "string"}}), &r), None);
    }
}
