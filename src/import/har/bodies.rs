//! A recorded request body as the endpoint's `json:`, `form:` or `body:`;
//! secret fields (`password`, `client_secret`, anything holding a credential
//! of the recording) read environment variables instead.

use serde_json::Value;

use super::read::Post;
use super::secrets::{Secrets, is_secret_field};
use crate::import::draft::{Body, literal, var_name};

/// Bodies larger than this are not written.
const MAX_BODY: usize = 64 * 1024;

/// What a recorded body gives an endpoint.
#[derive(Default)]
pub(super) struct Made {
    /// The body.
    pub(super) body: Option<Body>,
    /// A `Content-Type` header when the body's type is not the one its key sends.
    pub(super) content_type: Option<String>,
    /// Comment lines for the endpoint.
    pub(super) comments: Vec<String>,
}

/// The body of a request whose `Content-Type` header is `header_type`.
pub(super) fn body(
    post: &Post,
    header_type: Option<&str>,
    secrets: &Secrets,
    env_prefix: &str,
) -> Made {
    let mut made = Made::default();
    let text = post.text.as_deref().unwrap_or("");
    if text.is_empty() && post.params.is_empty() {
        return made;
    }
    let mime = if post.mime.is_empty() {
        header_type.unwrap_or("").trim()
    } else {
        post.mime.as_str()
    };
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let size = text
        .len()
        .max(post.params.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    if size > MAX_BODY {
        made.comments.push(format!(
            "the recorded body ({size} bytes) is over 64 KiB: not written; add it with `body:` if the target needs it"
        ));
        return made;
    }
    let mut env = Env {
        prefix: env_prefix,
        secrets,
        used: Vec::new(),
    };
    if base.starts_with("multipart/") {
        made.comments.push(format!(
            "the recording sent a {base} body: permatrix writes no multipart body; add one with `body:` and its Content-Type if the target needs it"
        ));
        return made;
    }
    let json_type = base == "application/json" || base.ends_with("+json");
    let parsed = serde_json::from_str::<Value>(text).ok();
    if let Some(value) = parsed.filter(|v| {
        json_type || (base.is_empty() || base == "text/plain") && (v.is_object() || v.is_array())
    }) {
        made.body = Some(Body::Json(env.json(&value, "value")));
        if base != "application/json" {
            made.content_type = one_line(mime).map(|m| literal(&m));
        }
    } else if base == "application/x-www-form-urlencoded" {
        let fields: Vec<(String, String)> = if post.params.is_empty() {
            url::form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect()
        } else {
            post.params
                .iter()
                .map(|(n, v)| (decode_form(n), decode_form(v)))
                .collect()
        };
        let mut form: Vec<(String, String)> = Vec::new();
        for (name, value) in fields {
            if form.iter().any(|(n, _)| *n == name) {
                made.comments.push(format!(
                    "form field `{}` was repeated: written once",
                    literal(&printable(&name))
                ));
                continue;
            }
            let value = env.scalar(&name, &value);
            form.push((literal(&name), value));
        }
        made.body = Some(Body::Form(form));
    } else if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        made.comments
            .push("the recording sent a binary body: not written".into());
        return made;
    } else if secrets.leaks(text) {
        made.comments.push(
            "the recorded body holds a credential: not written; add it with `body:` and a variable"
                .into(),
        );
        return made;
    } else {
        made.body = Some(Body::Raw(literal(text)));
        made.content_type = one_line(mime).map(|m| literal(&m));
    }
    if !env.used.is_empty() {
        made.comments.push(format!(
            "secret value(s) of the recorded body read environment variables: {}",
            env.used.join(", ")
        ));
    }
    made
}

/// Registers the values of `post`'s secret fields (6 characters or more)
/// in `secrets`, so that the same value under another name is caught too.
pub(super) fn register(post: &Post, secrets: &mut Secrets) {
    fn walk(value: &Value, field: &str, secrets: &mut Secrets) {
        match value {
            Value::Object(fields) => fields.iter().for_each(|(k, v)| walk(v, k, secrets)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, field, secrets)),
            Value::String(s) if is_secret_field(field) && s.len() >= 6 => secrets.add(s),
            _ => {}
        }
    }
    let text = post.text.as_deref().unwrap_or("");
    if text.len() > MAX_BODY {
        return;
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        walk(&value, "value", secrets);
    }
    let form = url::form_urlencoded::parse(text.as_bytes()).chain(
        post.params
            .iter()
            .map(|(n, v)| (n.as_str().into(), v.as_str().into())),
    );
    for (name, value) in form {
        if is_secret_field(&name) && value.len() >= 6 {
            secrets.add(&value);
        }
    }
}

/// Where secret values go: environment variables `<PREFIX>_<FIELD>`.
struct Env<'a> {
    prefix: &'a str,
    secrets: &'a Secrets,
    used: Vec<String>,
}

impl Env<'_> {
    /// A JSON value with secret leaves replaced; `field` names the value.
    fn json(&mut self, value: &Value, field: &str) -> Value {
        match value {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| {
                        let key = if self.secrets.leaks(k) {
                            "field".to_string()
                        } else {
                            k.clone()
                        };
                        (key, self.json(v, k))
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.json(v, field)).collect())
            }
            Value::String(s) => Value::String(self.scalar(field, s)),
            Value::Number(_) | Value::Bool(_) if is_secret_field(field) => {
                Value::String(self.reference(field))
            }
            other => other.clone(),
        }
    }

    /// A field's value as written: an environment reference for a secret.
    fn scalar(&mut self, field: &str, value: &str) -> String {
        if (is_secret_field(field) && !value.is_empty()) || self.secrets.leaks(value) {
            self.reference(field)
        } else {
            literal(value)
        }
    }

    fn reference(&mut self, field: &str) -> String {
        let field = if self.secrets.leaks(field) {
            "value"
        } else {
            field
        };
        let var = var_name(&format!("{}_{field}", self.prefix)).to_ascii_uppercase();
        if !self.used.contains(&var) {
            self.used.push(var.clone());
        }
        format!("${{{var}:-}}")
    }
}

fn decode_form(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn one_line(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && !text.chars().any(char::is_control)).then(|| text.to_string())
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(mime: &str, text: &str) -> Post {
        Post {
            mime: mime.into(),
            text: Some(text.into()),
            params: Vec::new(),
        }
    }

    #[test]
    fn secret_fields_read_the_environment() {
        let mut secrets = Secrets::default();
        secrets.add("hunter2-token");
        let made = body(
            &post(
                "application/json",
                r#"{"user":"a","password":"pw","nested":{"x":"hunter2-token","n":[1,"${y}"]}}"#,
            ),
            None,
            &secrets,
            "S",
        );
        let Some(Body::Json(value)) = made.body else {
            panic!("json")
        };
        assert_eq!(
            value.to_string(),
            r#"{"user":"a","password":"${S_PASSWORD:-}","nested":{"x":"${S_X:-}","n":[1,"$${y}"]}}"#
        );
        let made = body(
            &post(
                "application/x-www-form-urlencoded",
                "a=1&client_secret=s&a=2",
            ),
            None,
            &secrets,
            "S",
        );
        let Some(Body::Form(fields)) = made.body else {
            panic!("form")
        };
        assert_eq!(
            fields,
            [
                ("a".into(), "1".into()),
                ("client_secret".into(), "${S_CLIENT_SECRET:-}".into())
            ]
        );
        let made = body(
            &post("text/xml", "<a>hunter2-token</a>"),
            None,
            &secrets,
            "S",
        );
        assert!(made.body.is_none() && made.comments[0].contains("credential"));
    }
}
