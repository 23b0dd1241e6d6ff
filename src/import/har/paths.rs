//! A recorded URL as a request line: ids in the path (numbers, UUIDs, long
//! hex, ULIDs, opaque base64url) become suite variables named after the
//! segment before them (`/items/42` → `/items/${item_id}`), secrets in the
//! path or query read environment variables, the rest is kept as recorded.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

use super::credentials::is_key_param;
use super::secrets::{Secrets, is_secret_param, is_secret_position};
use crate::import::draft::{literal, var_name};

/// The value a secret slot matches with, whatever was recorded.
pub(super) const SECRET: &str = "\u{0}secret";

/// A path cut into what is kept and what varies.
pub(super) struct Shape {
    /// The path with `{}` for each id: requests with the same shape are one endpoint.
    pub(super) key: String,
    /// Each segment.
    pub(super) segments: Vec<Segment>,
}

/// One path segment.
pub(super) enum Segment {
    /// Kept as recorded (encoded, safe for a request line).
    Literal(String),
    /// An id (or a secret): a variable. `position` is the shape before it.
    Id {
        /// The shape of the path up to this segment.
        position: String,
        /// The recorded value, encoded as in the URL ([`SECRET`] for a secret).
        value: String,
        /// The variable's name before it is made unique (`item_id`).
        base: String,
    },
}

impl Shape {
    /// The values of the id segments, in order.
    pub(super) fn values(&self) -> Vec<String> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Id { value, .. } => Some(value.clone()),
                Segment::Literal(_) => None,
            })
            .collect()
    }
}

/// The shape of `url`'s path.
pub(super) fn shape(url: &url::Url, secrets: &Secrets) -> Shape {
    let mut key = String::new();
    let mut segments = Vec::new();
    let mut previous: Option<String> = None;
    for raw in url.path().trim_start_matches('/').split('/') {
        key.push('/');
        let decoded = percent_decode_str(raw).decode_utf8_lossy().into_owned();
        let secret = secrets.leaks(raw)
            || secrets.leaks(&decoded)
            || (previous.as_deref().is_some_and(is_secret_position) && decoded.len() >= 16);
        if secret || is_id(&decoded) {
            let base = match &previous {
                Some(word) => format!("{}_id", singular(word)),
                None => "id".into(),
            };
            segments.push(Segment::Id {
                position: key.clone(),
                value: if secret {
                    SECRET.into()
                } else {
                    raw.to_string()
                },
                base,
            });
            key.push_str("{}");
            previous = None;
        } else {
            let safe = safe(raw);
            key.push_str(&safe);
            segments.push(Segment::Literal(safe));
            previous = Some(decoded);
        }
    }
    Shape { key, segments }
}

/// Whether a path segment is an id: digits, a UUID, 16+ hex digits, a ULID,
/// or an opaque base64url string of 20+ characters mixing cases and digits.
pub(super) fn is_id(segment: &str) -> bool {
    let s = segment;
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let uuid = s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    let hex = s.len() >= 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let ulid = s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)));
    let opaque = s.len() >= 20
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().any(|b| b.is_ascii_uppercase())
        && s.bytes().any(|b| b.is_ascii_lowercase());
    digits || uuid || hex || ulid || opaque
}

/// `items` → `item`, `categories` → `category`, `boxes` → `box`, as a variable name.
fn singular(word: &str) -> String {
    let lower: String = word.to_ascii_lowercase().chars().take(32).collect();
    let stem = if let Some(stem) = lower.strip_suffix("ies") {
        format!("{stem}y")
    } else if ["sses", "xes", "ches", "shes"]
        .iter()
        .any(|s| lower.ends_with(s))
    {
        lower[..lower.len() - 2].to_string()
    } else if lower.ends_with('s')
        && !lower.ends_with("ss")
        && !lower.ends_with("us")
        && !lower.ends_with("is")
    {
        lower[..lower.len() - 1].to_string()
    } else {
        lower
    };
    let name = var_name(&stem).trim_matches('_').to_string();
    if name.is_empty() { "path".into() } else { name }
}

/// A recorded path or query part, safe in a request line: what a URL
/// leaves unencoded but a request line cannot carry is encoded; `${` escaped.
fn safe(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let keep = c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%/?".contains(c);
        if keep {
            out.push(c);
        } else {
            let mut buffer = [0; 4];
            for b in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    literal(&out)
}

/// Suite variables for ids, one per position and value.
#[derive(Default)]
pub(super) struct Vars {
    /// Name → value (an environment reference for a secret), in the order made.
    pub(super) made: Vec<(String, String, bool)>,
    by_position: BTreeMap<(String, String), String>,
}

impl Vars {
    /// The variable for `value` at `position`, made when new.
    pub(super) fn name(
        &mut self,
        position: &str,
        value: &str,
        base: &str,
        env_prefix: &str,
    ) -> String {
        let key = (position.to_string(), value.to_string());
        if let Some(name) = self.by_position.get(&key) {
            return name.clone();
        }
        let mut name = base.to_string();
        let mut n = 2;
        while self.made.iter().any(|(m, _, _)| *m == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        let secret = value == SECRET;
        let stored = if secret {
            format!(
                "${{{}:-}}",
                var_name(&format!("{env_prefix}_{name}")).to_ascii_uppercase()
            )
        } else {
            literal(value)
        };
        self.made.push((name.clone(), stored, secret));
        self.by_position.insert(key, name.clone());
        name
    }
}

/// A recorded query, split into what is written as recorded and what is a secret.
#[derive(Default)]
pub(super) struct Query {
    /// The parts written in the request line, as recorded.
    pub(super) line: String,
    /// Secret parameters: name and the environment reference their value becomes.
    pub(super) secret: Vec<(String, String)>,
    /// The parameter names, sorted and unique: part of what makes requests one endpoint.
    pub(super) keys: Vec<String>,
    /// API-key parameters left out (the principal sends them).
    pub(super) keys_left_out: Vec<String>,
}

/// Registers the values of `url`'s secret query parameters (6 characters or
/// more) in `secrets`, so that the same value elsewhere is caught too.
pub(super) fn register_query(url: &url::Url, secrets: &mut Secrets) {
    for (name, value) in url.query_pairs() {
        if (is_secret_param(&name) || is_key_param(&name)) && value.len() >= 6 {
            secrets.add(&value);
        }
    }
}

/// The query of `url`.
pub(super) fn query(url: &url::Url, secrets: &Secrets, env_prefix: &str) -> Query {
    let mut query = Query::default();
    let Some(raw) = url.query() else {
        return query;
    };
    let mut kept = Vec::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (name, value) = (decode(raw_name), decode(raw_value));
        if is_key_param(&name) {
            if !query.keys_left_out.contains(&name) {
                query.keys_left_out.push(name);
            }
            continue;
        }
        query.keys.push(name.clone());
        let secret = is_secret_param(&name)
            || secrets.leaks(raw_value)
            || secrets.leaks(&value)
            || secrets.leaks(raw_name);
        if secret {
            if !query.secret.iter().any(|(n, _)| *n == name) && !secrets.leaks(&name) {
                let var = var_name(&format!("{env_prefix}_{name}")).to_ascii_uppercase();
                query.secret.push((name, format!("${{{var}:-}}")));
            }
        } else {
            kept.push(safe(piece));
        }
    }
    query.keys.sort();
    query.keys.dedup();
    query.line = kept.join("&");
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_told_from_words() {
        for id in [
            "42",
            "0b5e6a34-3c9f-4f0e-9a55-6f7b2a1e9c10",
            "5f2b8c9d0e1f2a3b4c5d6e7f",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "Xk9_a8Bq2LmN0pQr7sT1uV",
        ] {
            assert!(is_id(id), "{id}");
        }
        for word in [
            "items",
            "v1",
            "settings",
            "my-article-title-2024",
            "TEST-1",
            "deadbeef",
        ] {
            assert!(!is_id(word), "{word}");
        }
    }

    #[test]
    fn plurals_become_variable_names() {
        assert_eq!(singular("items"), "item");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("boxes"), "box");
        assert_eq!(singular("status"), "status");
        assert_eq!(singular("access"), "access");
        assert_eq!(singular("user-groups"), "user_group");
    }

    #[test]
    fn a_path_and_its_query() {
        let secrets = Secrets::default();
        let url = url::Url::parse("http://h/users/7/posts/0b5e6a34-3c9f-4f0e-9a55-6f7b2a1e9c10/x%20y?b=2&a=1&token=t0k3n&a=3").unwrap();
        let shape = shape(&url, &secrets);
        assert_eq!(shape.key, "/users/{}/posts/{}/x%20y");
        assert_eq!(
            shape.values(),
            ["7", "0b5e6a34-3c9f-4f0e-9a55-6f7b2a1e9c10"]
        );
        let q = query(&url, &secrets, "S");
        assert_eq!(q.line, "b=2&a=1&a=3");
        assert_eq!(
            q.secret,
            [("token".to_string(), "${S_TOKEN:-}".to_string())]
        );
        assert_eq!(q.keys, ["a", "b", "token"]);
        let mut vars = Vars::default();
        assert_eq!(vars.name("/users/", "7", "user_id", "S"), "user_id");
        assert_eq!(vars.name("/users/", "8", "user_id", "S"), "user_id_2");
        assert_eq!(vars.name("/users/", "7", "user_id", "S"), "user_id");
    }
}
