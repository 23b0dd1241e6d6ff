//! Requests as a suite writes them: the request line and the body, with `${…}` inside.

use super::template::Template;

/// `METHOD PATH[?QUERY]`.
#[derive(Clone, Debug)]
pub struct RequestLine {
    /// The method, upper-cased as written.
    pub method: ::http::Method,
    /// Path and query, interpolated at run time.
    pub target: Template,
}

/// A request body.
#[derive(Clone, Debug)]
pub enum Body {
    /// `json:`, sent with `Content-Type: application/json`.
    Json(JsonTemplate),
    /// `form:`, sent url-encoded.
    Form(Vec<(String, Template)>),
    /// `body:`, sent as written.
    Raw(Template),
}

/// A JSON value whose strings may hold `${…}`.
#[derive(Clone, Debug)]
pub enum JsonTemplate {
    /// `null`.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string, interpolated.
    String(Template),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// An object, keys in order.
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// Every template inside, for validation.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Template>) {
        match self {
            JsonTemplate::String(t) => out.push(t),
            JsonTemplate::Array(items) => items.iter().for_each(|i| i.collect(out)),
            JsonTemplate::Object(entries) => entries.iter().for_each(|(_, v)| v.collect(out)),
            JsonTemplate::Null | JsonTemplate::Bool(_) | JsonTemplate::Number(_) => {}
        }
    }
}

impl Body {
    /// Every template inside, for validation.
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            Body::Json(json) => json.templates(),
            Body::Form(fields) => fields.iter().map(|(_, t)| t).collect(),
            Body::Raw(t) => vec![t],
        }
    }
}
