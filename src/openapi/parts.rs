//! An operation's parts: its parameters as declared (references followed,
//! 2.0's body and form parameters among them) and its request body.

use serde_json::Value;

use super::refs::Resolver;
use super::{Body, BodyKind, Location, Parameter, example};

/// A parameter as declared: its name, its `in` (2.0 adds `body` and
/// `formData`) and its object, references followed.
pub(super) struct Declared<'a> {
    pub(super) name: String,
    pub(super) place: String,
    pub(super) raw: &'a Value,
}

pub(super) fn declared_parameters<'a>(
    list: Option<&'a Value>,
    resolver: &Resolver<'a>,
) -> Vec<Declared<'a>> {
    let mut found = Vec::new();
    for raw in list.and_then(Value::as_array).into_iter().flatten() {
        let Some(object) = resolver.resolve(raw) else {
            continue;
        };
        let (Some(name), Some(place)) = (
            object.get("name").and_then(Value::as_str),
            object.get("in").and_then(Value::as_str),
        ) else {
            continue;
        };
        found.push(Declared {
            name: name.to_string(),
            place: place.to_string(),
            raw: object,
        });
    }
    found
}

/// A declared parameter sent in the path, query, a header or a cookie.
pub(super) fn parameter(declared: &Declared<'_>, resolver: &Resolver<'_>) -> Option<Parameter> {
    let location = Location::named(&declared.place)?;
    let object = declared.raw;
    let typed = object
        .get("schema")
        .and_then(|s| resolver.resolve(s))
        .unwrap_or(object);
    let kind = match (
        example::type_of(typed),
        typed.get("format").and_then(Value::as_str),
    ) {
        (Some(t), Some(f)) => format!("{t} ({f})"),
        (Some(t), None) => t.to_string(),
        (None, _) => "string".to_string(),
    };
    Some(Parameter {
        name: declared.name.clone(),
        location,
        required: location == Location::Path
            || object
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        example: example::declared(object, resolver),
        kind,
    })
}

/// 2.0: the `in: body` parameter's schema, or the `formData` parameters.
pub(super) fn swagger2_body(
    operation: &Value,
    parameters: &[Declared<'_>],
    resolver: &Resolver<'_>,
) -> Option<Body> {
    if let Some(raw) = parameters.iter().find(|p| p.place == "body").map(|p| p.raw) {
        let example = example::declared(raw, resolver).unwrap_or_else(|| {
            raw.get("schema")
                .map(|s| example::minimal(s, resolver))
                .unwrap_or(Value::Null)
        });
        return Some(Body {
            kind: BodyKind::Json,
            media_type: String::new(),
            example,
        });
    }
    let form: Vec<_> = parameters
        .iter()
        .filter(|p| {
            p.place == "formData" && p.raw.get("required").and_then(Value::as_bool) == Some(true)
        })
        .collect();
    let has_form = parameters.iter().any(|p| p.place == "formData");
    if !has_form {
        return None;
    }
    let multipart = operation
        .get("consumes")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c.as_str() == Some("multipart/form-data")));
    let mut fields = serde_json::Map::new();
    for p in form {
        let value = example::declared(p.raw, resolver).unwrap_or_else(|| {
            Value::String(example::string_for(p.raw.get("format").and_then(Value::as_str)).into())
        });
        fields.insert(p.name.clone(), value);
    }
    Some(Body {
        kind: if multipart {
            BodyKind::Raw("multipart/form-data".into())
        } else {
            BodyKind::Form
        },
        media_type: String::new(),
        example: Value::Object(fields),
    })
}

/// 3.x: the JSON media type if there is one, else a form, else the first.
pub(super) fn openapi3_body(body: &Value, resolver: &Resolver<'_>) -> Option<Body> {
    let content = body.get("content").and_then(Value::as_object)?;
    let is_json = |m: &str| {
        let m = m.to_ascii_lowercase();
        m.starts_with("application/json") || m.contains("+json") || m == "*/*"
    };
    let (media_type, media) = content
        .iter()
        .find(|(m, _)| is_json(m))
        .or_else(|| {
            content
                .iter()
                .find(|(m, _)| m.starts_with("application/x-www-form-urlencoded"))
        })
        .or_else(|| content.iter().next())?;
    let example = example::declared(media, resolver).unwrap_or_else(|| {
        media
            .get("schema")
            .map(|s| example::minimal(s, resolver))
            .unwrap_or(Value::Null)
    });
    let kind = if is_json(media_type) {
        BodyKind::Json
    } else if media_type.starts_with("application/x-www-form-urlencoded") {
        BodyKind::Form
    } else {
        BodyKind::Raw(media_type.clone())
    };
    Some(Body {
        kind,
        media_type: media_type.clone(),
        example,
    })
}
