//! An OpenAPI document's operations as a draft suite: one endpoint per
//! operation, parameters filled from examples or suite variables, bodies
//! from examples or schemas, expectations from the security requirements.

mod request;
pub(super) mod scopes;

use std::collections::BTreeMap;

use self::request::{Variables, endpoint, literal_path, path_of};
use super::compact::Seen;
use super::draft::{Draft, Endpoint, endpoint_name, literal, var_name};
use super::principals::PrincipalSet;
use super::yaml_out::{Entry, Yaml};
use crate::openapi::{Location, Operation, Spec, Version};

/// What `init --openapi` was asked for, besides the document.
#[derive(Clone, Debug, Default)]
pub struct OpenApiChoices {
    /// `--name`.
    pub name: Option<String>,
    /// `--base-url`.
    pub base_url: Option<String>,
    /// The document's file name, for the header comment.
    pub source: String,
}

/// How long a name made from a title may be.
const MAX_NAME: usize = 24;

/// The suite's name: `--name`, else the document's title, as `[a-z0-9_-]+`.
pub fn suite_name(choice: Option<&str>, title: Option<&str>) -> String {
    let source = choice.or(title).unwrap_or("api");
    let mut name = String::new();
    for c in source.chars().filter(|c| !matches!(c, '\'' | '\u{2019}')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    // A title is a sentence at times; the name is typed and prefixes variables.
    if choice.is_none() && name.len() > MAX_NAME {
        let cut = match name.as_bytes()[MAX_NAME] {
            b'-' => MAX_NAME,
            _ => name[..MAX_NAME].rfind('-').unwrap_or(MAX_NAME),
        };
        name.truncate(cut);
    }
    let name = name.trim_matches('-').to_string();
    if name.is_empty() { "api".into() } else { name }
}

/// The draft for `spec`, its principals from `principals`; its expectations
/// are the matrix beside it (endpoint × principal), not yet compacted.
pub fn draft(
    spec: &Spec,
    principals: PrincipalSet,
    choices: &OpenApiChoices,
) -> (Draft, Vec<Vec<Seen>>) {
    let suite = suite_name(choices.name.as_deref(), spec.title.as_deref());
    let mut vars = Variables::new(var_name(&suite).to_ascii_uppercase());
    let keys: Vec<(Location, String)> = spec
        .schemes
        .iter()
        .filter_map(|scheme| match &scheme.kind {
            crate::openapi::SchemeKind::ApiKey { location, name } => {
                Some((*location, name.clone()))
            }
            _ => None,
        })
        .collect();
    let names = endpoint_names(&spec.operations);
    let mut endpoints: Vec<Endpoint> = spec
        .operations
        .iter()
        .zip(names)
        .map(|(operation, name)| endpoint(operation, name, &keys, &mut vars))
        .collect();
    round_trip(spec, &mut endpoints, &mut vars);
    for (operation, endpoint) in spec.operations.iter().zip(endpoints.iter_mut()) {
        endpoint.scopes = scopes::required(operation, &spec.schemes);
    }
    let connect = spec.operations.iter().any(|o| {
        o.vendor_scopes
            .iter()
            .any(|v| v.extension == crate::openapi::CONNECT_SCOPE)
    });
    let scope_implies = match &principals.scope_implies {
        Some(copied) => Some(copied.clone()),
        None => connect.then(scopes::connect_implies),
    };
    let declared = spec.operations.iter().any(|o| o.security.is_some());
    let rows: Vec<Vec<Seen>> = spec
        .operations
        .iter()
        .map(|operation| expectations(operation, &principals))
        .collect();
    // Which endpoints ask for schemes together that no principal sends: said
    // once at the top when it is most of them (a document-wide requirement).
    let combined_on: Vec<(usize, String)> = spec
        .operations
        .iter()
        .zip(&rows)
        .enumerate()
        .filter_map(|(i, (operation, row))| {
            let schemes = operation.security.as_deref().and_then(combined)?;
            row.iter()
                .all(|seen| seen.value == "any")
                .then_some((i, schemes))
        })
        .collect();
    let advice = "add one (an auth mode plus `headers:`), then run --observe";
    let document_wide = combined_on.len() > 3
        && combined_on
            .iter()
            .all(|(_, schemes)| *schemes == combined_on[0].1);
    let mut combined_note = None;
    if document_wide {
        combined_note = Some(format!(
            "{} endpoints ask for {} together and no principal sends them all, so they expect `any`: {advice}.",
            combined_on.len(),
            combined_on[0].1
        ));
    } else {
        for (i, schemes) in &combined_on {
            endpoints[*i].comments.push(format!(
                "the document asks for {schemes} together and no principal sends them all: {advice}"
            ));
        }
    }
    let mut comments = vec![format!(
        "Generated by `permatrix init --openapi` from {} ({}).",
        choices.source,
        match spec.version {
            Version::Swagger2 => "Swagger 2.0",
            Version::OpenApi30 => "OpenAPI 3.0",
            Version::OpenApi31 => "OpenAPI 3.1",
            Version::OpenApi32 => "OpenAPI 3.2",
        }
    )];
    let expectations = if declared {
        "Expectations come from the document's security requirements (allow/deny/any): review them, or run `permatrix init --observe` to record what the target answers.".into()
    } else {
        "The document declares no security requirements, so every cell expects `any`: run `permatrix init --observe` to record what the target answers, or fill them in.".into()
    };
    comments.extend(combined_note);
    if vars.placeholders > 0 {
        comments.push(format!(
            "{} variable(s) under `vars:` hold placeholders for path or query parameters: set them to values that exist (a principal's own `vars:` overrides them for object ownership).",
            vars.placeholders
        ));
    }
    let (target, target_comment) = target(spec, &suite, choices, principals.target.clone());
    comments.extend(target_comment);
    let mut suite_vars = principals.vars.clone();
    let made: Vec<Entry> = vars
        .entries
        .into_values()
        .filter(|e| !suite_vars.iter().any(|v| v.key == e.key))
        .collect();
    suite_vars.extend(made);
    let draft = Draft {
        comments,
        expectations,
        suite,
        description: None,
        target,
        vars: suite_vars,
        principals: principals.principals,
        groups: principals.groups,
        default_headers: principals.default_headers,
        default_expect: Vec::new(),
        scope_implies,
        endpoints,
    };
    (draft, rows)
}

/// Makes each endpoint's request name its own operation, as `coverage`
/// reads it: an example that equals a sibling's literal segment
/// (`/entities/{name}` with `Client` beside `/entities/Client`) would send
/// the request to that other operation, so such examples become variables;
/// a request that still names another operation (the document's paths
/// overlap) says so in a comment.
fn round_trip(spec: &Spec, endpoints: &mut [Endpoint], vars: &mut Variables) {
    use crate::openapi::matcher::{Found, Matcher};
    use crate::openapi::path::RequestPath;
    let matcher = Matcher::new(&spec.operations, &spec.servers, &[]);
    let lands =
        |endpoint: &Endpoint| matcher.find(&endpoint.method, &RequestPath::parse(&endpoint.path));
    for (i, (operation, endpoint)) in spec.operations.iter().zip(endpoints.iter_mut()).enumerate() {
        if lands(endpoint) == Found::Operation(i) {
            continue;
        }
        let with_variables = path_of(operation, vars, false);
        if with_variables != endpoint.path {
            endpoint.path = with_variables;
        }
        if let Found::Operation(other) = lands(endpoint)
            && other != i
        {
            let other = &spec.operations[other];
            endpoint.comments.push(format!(
                "the document's paths overlap: this request is also {} {}",
                other.method, other.path
            ));
        }
    }
}

/// `target:`: the source suite's, else the document's first server (or
/// `--base-url`) behind a `<SUITE>_BASE_URL` variable.
fn target(
    spec: &Spec,
    suite: &str,
    choices: &OpenApiChoices,
    copied: Option<Vec<Entry>>,
) -> (Vec<Entry>, Option<String>) {
    let first = spec.servers.first().map(String::as_str).unwrap_or("");
    // A scheme-relative server (`//api.example.com/v1`) is reached over https.
    let scheme_relative = first.starts_with("//").then(|| format!("https:{first}"));
    let server = scheme_relative.as_deref().unwrap_or(first);
    let server_path = server_path(server);
    if let Some(mut entries) = copied {
        if let Some(url) = &choices.base_url {
            let url = with_server_path(url, &server_path);
            match entries.iter_mut().find(|e| e.key == "base_url") {
                Some(entry) => entry.value = Yaml::Str(literal(&url)),
                None => entries.insert(0, Entry::new("base_url", Yaml::Str(literal(&url)))),
            }
        }
        return (entries, None);
    }
    if let Some(url) = &choices.base_url {
        let url = with_server_path(url, &server_path);
        return (vec![Entry::new("base_url", Yaml::Str(literal(&url)))], None);
    }
    // A `{name}` left in the URL is a variable the document does not declare.
    let absolute = crate::suite::parse_base_url(server)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && !server.contains(['{', '}']));
    let (url, comment) = match absolute {
        Some(_) => (server.trim_end_matches('/').to_string(), None),
        None => {
            let path = server_path
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .trim_end_matches('/');
            let placeholder = format!("http://localhost{}", literal_path(path));
            let comment = if server.is_empty() {
                "The document names no server: target.base_url is a placeholder; set the variable or pass --base-url.".to_string()
            } else {
                format!(
                    "The document's server `{server}` is not an absolute http(s) URL: target.base_url is a placeholder; set the variable or pass --base-url."
                )
            };
            (placeholder, Some(comment))
        }
    };
    let var = format!("{}_BASE_URL", var_name(suite).to_ascii_uppercase());
    // `}` would end the default early; a server URL never needs one.
    let url = literal(&url).replace('}', "%7D");
    (
        vec![Entry::new(
            "base_url",
            Yaml::Str(format!("${{{var}:-{url}}}")),
        )],
        comment,
    )
}

/// The path of a server URL, absolute or relative (`/api/v3`).
fn server_path(server: &str) -> String {
    let path = match url::Url::parse(server) {
        // `urn:x` or `a+b:c` parse too, with no path a base URL can take.
        Ok(url) if url.cannot_be_a_base() => String::new(),
        Ok(url) => url.path().to_string(),
        Err(_) => server.to_string(),
    };
    if path.starts_with('/') {
        path
    } else {
        String::new()
    }
}

/// `--base-url` with the document's server path appended when it has no path of its own.
fn with_server_path(url: &str, server_path: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let has_path = url::Url::parse(url).is_ok_and(|u| u.path() != "/" && !u.path().is_empty());
    if has_path || server_path.trim_end_matches('/').is_empty() {
        trimmed.to_string()
    } else {
        format!("{trimmed}{}", server_path.trim_end_matches('/'))
    }
}

/// Each operation's endpoint name: its `operationId` when unique and usable,
/// else `METHOD /template`; made unique.
fn endpoint_names(operations: &[Operation]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in operations.iter().filter_map(|o| o.operation_id.as_deref()) {
        *counts.entry(id).or_default() += 1;
    }
    let mut taken = std::collections::BTreeSet::new();
    operations
        .iter()
        .map(|operation| {
            let id = operation.operation_id.as_deref().filter(|id| {
                counts.get(id) == Some(&1) && crate::suite::read::name_problem(id).is_none()
            });
            let base = match id {
                Some(id) => id.to_string(),
                None => endpoint_name(&format!("{} {}", operation.method, operation.path)),
            };
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base} ({n})");
                n += 1;
            }
            name
        })
        .collect()
}

/// Each principal's expectation from the operation's security requirements.
fn expectations(operation: &Operation, principals: &PrincipalSet) -> Vec<Seen> {
    let Some(requirements) = &operation.security else {
        return vec![Seen::plain("any"); principals.principals.len()];
    };
    if requirements.is_empty() || requirements.iter().any(|r| r.is_open()) {
        return vec![Seen::plain("allow"); principals.principals.len()];
    }
    let met: Vec<bool> = principals
        .meets
        .iter()
        .map(|meets| {
            requirements
                .iter()
                .any(|r| r.0.iter().all(|(scheme, _)| meets.contains(scheme)))
        })
        .collect();
    if !met.contains(&true) && combined(requirements).is_some() {
        // Nobody sends the schemes an alternative combines: what the target
        // answers them says nothing the document does.
        return vec![Seen::plain("any"); met.len()];
    }
    met.into_iter()
        .map(|met| Seen::plain(if met { "allow" } else { "deny" }))
        .collect()
}

/// `a and b`, the schemes of the first alternative that combines several.
fn combined(requirements: &[crate::openapi::Requirement]) -> Option<String> {
    let alternative = requirements.iter().find(|r| r.0.len() > 1)?;
    let names: Vec<String> = alternative
        .0
        .iter()
        .map(|(s, _)| format!("`{s}`"))
        .collect();
    Some(names.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_are_slugs_of_the_title() {
        assert_eq!(
            suite_name(None, Some("Swagger Petstore - OpenAPI 3.0")),
            "swagger-petstore-openapi"
        );
        assert_eq!(
            suite_name(
                None,
                Some("GitHub's official OpenAPI spec + Octokit extension")
            ),
            "githubs-official-openapi"
        );
        assert_eq!(
            suite_name(Some("a very long name that the user chose"), None),
            "a-very-long-name-that-the-user-chose"
        );
        assert_eq!(suite_name(Some("My_API"), Some("x")), "my_api");
        assert_eq!(suite_name(None, Some("   ")), "api");
    }

    #[test]
    fn a_base_url_flag_keeps_the_servers_path_when_it_has_none() {
        assert_eq!(
            with_server_path("http://127.0.0.1:8080", "/api/v3"),
            "http://127.0.0.1:8080/api/v3"
        );
        assert_eq!(
            with_server_path("http://127.0.0.1:8080/", "/api/v3/"),
            "http://127.0.0.1:8080/api/v3"
        );
        assert_eq!(
            with_server_path("http://h/other", "/api/v3"),
            "http://h/other"
        );
    }
}
