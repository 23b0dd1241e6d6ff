//! Where a document's operations are served: 3.x `servers` with their
//! variables at their defaults, 2.0's `schemes`, `host` and `basePath`.

use serde_json::Value;

use super::refs::Resolver;

/// 3.x `servers`: each URL with its variables at their defaults (else their first enum value).
pub(super) fn servers_of(list: Option<&Value>, resolver: &Resolver<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for server in list.and_then(Value::as_array).into_iter().flatten() {
        let Some(server) = resolver.resolve(server) else {
            continue;
        };
        let Some(mut url) = server
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        for (name, variable) in server
            .get("variables")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let value = variable
                .get("default")
                .or_else(|| variable.pointer("/enum/0"))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .unwrap_or_default();
            url = url.replace(&format!("{{{name}}}"), &value);
        }
        urls.push(url);
    }
    urls
}

/// 2.0: `schemes[0]://host/basePath` (https preferred), or the base path alone without a host.
pub(super) fn swagger2_server(root: &Value) -> Option<String> {
    let base_path = root
        .get("basePath")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_end_matches('/');
    let Some(host) = root.get("host").and_then(Value::as_str) else {
        return (!base_path.is_empty()).then(|| base_path.to_string());
    };
    let schemes: Vec<&str> = root
        .get("schemes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let scheme = if schemes.is_empty() || schemes.contains(&"https") {
        "https"
    } else {
        schemes[0]
    };
    let base_path = if base_path.is_empty() || base_path.starts_with('/') {
        base_path.to_string()
    } else {
        format!("/{base_path}")
    };
    Some(format!("{scheme}://{host}{base_path}"))
}
