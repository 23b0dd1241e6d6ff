//! Which operation of an API description a suite's request is: by method and
//! path template, with `--map` prefix rewrites and the servers' path prefixes,
//! and OpenAPI's precedence (a concrete segment beats a `{param}`).

use super::Operation;

use super::path::{Kind, RequestPath, Segment, server_prefix, template_segments};

/// `--map FROM=TO`: a request path starting with FROM (by whole segments)
/// is matched as if it started with TO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathMap {
    /// The prefix as the suites write it.
    pub from: String,
    /// The prefix as the document writes it.
    pub to: String,
}

/// An operation as a pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub(crate) method: String,
    pub(crate) segments: Vec<Segment>,
    /// The template ends with `/` (`/items/`).
    trailing_slash: bool,
    /// Indexes into [`Matcher::prefixes`] of the servers it is served under.
    prefixes: Vec<usize>,
}

/// What a request is, for the description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// This operation (an index into the document's operations).
    Operation(usize),
    /// The path is this operation's, but the description has no operation
    /// with the request's method there.
    OtherMethod(usize),
    /// No path of the description is the request's.
    Nothing,
    /// The whole path is one variable: it could be anything, so it is nothing.
    VariablePath,
}

/// The operations of a description, ready to match requests against.
#[derive(Debug)]
pub(crate) struct Matcher {
    pub(crate) patterns: Vec<Pattern>,
    /// Every distinct server path prefix, longest first.
    prefixes: Vec<Vec<Segment>>,
    /// The `--map`s, longest FROM first.
    maps: Vec<(Vec<Segment>, Vec<Segment>)>,
}

/// How well a request segment fits a template segment: higher is more specific.
type Fit = (u8, usize);

fn fit(request: &Segment, template: &Segment) -> Fit {
    let rank = |kind: Kind| match kind {
        Kind::Literal => 3,
        Kind::Mixed => 2,
        Kind::Placeholder => 1,
    };
    match request.kind {
        Kind::Literal => (rank(template.kind), template.fixed),
        // A suite variable stands for a value: a `{param}` fits it best,
        // a concrete segment worst.
        Kind::Placeholder => (4 - rank(template.kind), template.fixed),
        // Text around a variable (`${name}:cancel`) is best met by a template
        // of the same shape (`{name}:cancel`), with the most text in common.
        Kind::Mixed => {
            let shape = match template.kind {
                Kind::Mixed => 3,
                Kind::Literal => 2,
                Kind::Placeholder => 1,
            };
            (shape, template.fixed)
        }
    }
}

impl Matcher {
    /// Patterns for `operations`, served under their own servers or else
    /// the document's `servers`; `maps` rewrite request paths.
    pub(crate) fn new(operations: &[Operation], servers: &[String], maps: &[PathMap]) -> Matcher {
        let mut prefixes: Vec<Vec<Segment>> = Vec::new();
        let mut index_of = |url: &String| -> Option<usize> {
            let prefix = server_prefix(url);
            if prefix.is_empty() {
                return None;
            }
            let same = |p: &Vec<Segment>| {
                p.len() == prefix.len() && p.iter().zip(&prefix).all(|(a, b)| a.text == b.text)
            };
            Some(prefixes.iter().position(same).unwrap_or_else(|| {
                prefixes.push(prefix);
                prefixes.len() - 1
            }))
        };
        let mut patterns = Vec::new();
        for operation in operations {
            let own = if operation.servers.is_empty() {
                servers
            } else {
                &operation.servers
            };
            let mut indexes: Vec<usize> = own.iter().filter_map(&mut index_of).collect();
            indexes.sort_unstable();
            indexes.dedup();
            patterns.push(Pattern {
                method: operation.method.to_ascii_uppercase(),
                segments: template_segments(&operation.path),
                trailing_slash: operation.path.len() > 1 && operation.path.ends_with('/'),
                prefixes: indexes,
            });
        }
        // Longest first; the order they were found breaks ties.
        let mut order: Vec<usize> = (0..prefixes.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(prefixes[i].len()));
        let renumber: Vec<usize> = {
            let mut r = vec![0; order.len()];
            for (new, &old) in order.iter().enumerate() {
                r[old] = new;
            }
            r
        };
        for pattern in &mut patterns {
            for i in &mut pattern.prefixes {
                *i = renumber[*i];
            }
        }
        let prefixes = order.into_iter().map(|i| prefixes[i].clone()).collect();
        let mut maps: Vec<(Vec<Segment>, Vec<Segment>)> = maps
            .iter()
            .map(|m| (server_prefix(&m.from), server_prefix(&m.to)))
            .collect();
        maps.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Matcher {
            patterns,
            prefixes,
            maps,
        }
    }

    /// The request's segments after the first `--map` that applies.
    pub(crate) fn mapped(&self, path: &RequestPath) -> Vec<Segment> {
        for (from, to) in &self.maps {
            if let Some(rest) = strip(&path.segments, from) {
                return to.iter().chain(rest).cloned().collect();
            }
        }
        path.segments.clone()
    }

    /// The ways to read a request's segments against the patterns: as
    /// written (every pattern), then with each server prefix it starts with
    /// stripped (the patterns served under it), longest prefix first.
    pub(crate) fn attempts<'s>(
        &self,
        segments: &'s [Segment],
    ) -> Vec<(&'s [Segment], Option<usize>)> {
        let mut attempts = vec![(segments, None)];
        for (i, prefix) in self.prefixes.iter().enumerate() {
            if let Some(rest) = strip(segments, prefix) {
                attempts.push((rest, Some(i)));
            }
        }
        attempts
    }

    /// Whether pattern `p` takes part in an attempt.
    pub(crate) fn serves(&self, p: usize, prefix: Option<usize>) -> bool {
        prefix.is_none_or(|i| self.patterns[p].prefixes.contains(&i))
    }

    /// Which operation `method` on `path` is. Within one reading of the path
    /// the most specific templates win (segment by segment from the left: a
    /// concrete segment, then a mixed one, then a `{param}`), and only then
    /// is the method looked for among them; the next reading is tried when
    /// this one found no operation with the method.
    /// A reading that is one variable (`/${path}`, or `/v2/${path}` under a
    /// server `/v2`) could be any path, so it matches nothing.
    pub(crate) fn find(&self, method: &str, path: &RequestPath) -> Found {
        let segments = self.mapped(path);
        let mut other_method = None;
        let mut variable = false;
        for (rest, prefix) in self.attempts(&segments) {
            // A path that is one variable may hold slashes: it is read as one
            // `{param}` (`GET /{appId}` under a server's prefix), nothing more.
            let only_variable = is_variable(rest);
            variable |= only_variable;
            let mut best: Option<Vec<Fit>> = None;
            let mut tier: Vec<usize> = Vec::new();
            for (p, pattern) in self.patterns.iter().enumerate() {
                if !self.serves(p, prefix) || !fits_all(rest, &pattern.segments) {
                    continue;
                }
                if only_variable && pattern.segments.iter().any(|s| s.kind != Kind::Placeholder) {
                    continue;
                }
                let score: Vec<Fit> = rest
                    .iter()
                    .zip(&pattern.segments)
                    .map(|(r, t)| fit(r, t))
                    .collect();
                match best.as_ref().map(|b| score.cmp(b)) {
                    Some(std::cmp::Ordering::Less) => {}
                    Some(std::cmp::Ordering::Equal) => tier.push(p),
                    _ => {
                        best = Some(score);
                        tier = vec![p];
                    }
                }
            }
            // `/items/` and `/items` are one path to the matcher; when the
            // description has both, the request's own slash decides.
            tier.sort_by_key(|&p| self.patterns[p].trailing_slash != path.trailing_slash);
            if let Some(&p) = tier
                .iter()
                .find(|&&p| self.patterns[p].method.eq_ignore_ascii_case(method))
            {
                return Found::Operation(p);
            }
            other_method = other_method.or(tier.first().copied());
        }
        match other_method {
            Some(p) => Found::OtherMethod(p),
            None if variable => Found::VariablePath,
            None => Found::Nothing,
        }
    }
}

/// Whether a reading of a path is one variable.
pub(crate) fn is_variable(segments: &[Segment]) -> bool {
    matches!(segments, [only] if only.kind == Kind::Placeholder)
}

/// Whether every request segment meets its template segment, one to one.
pub(crate) fn fits_all(request: &[Segment], template: &[Segment]) -> bool {
    request.len() == template.len() && request.iter().zip(template).all(|(r, t)| r.meets(t))
}

/// `segments` without `prefix` when they start with it, segment by segment.
fn strip<'s>(segments: &'s [Segment], prefix: &[Segment]) -> Option<&'s [Segment]> {
    let starts = segments.len() >= prefix.len()
        && segments
            .iter()
            .zip(prefix)
            .all(|(s, p)| s.kind == Kind::Literal && s.text == p.text);
    starts.then(|| &segments[prefix.len()..])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An operation with nothing but `METHOD PATH`, for tests.
    pub(crate) fn operation(line: &str) -> Operation {
        let (method, path) = line.split_once(' ').unwrap_or((line, "/"));
        Operation {
            method: method.into(),
            path: path.into(),
            operation_id: None,
            parameters: Vec::new(),
            body: None,
            security: None,
            servers: Vec::new(),
            vendor_scopes: Vec::new(),
        }
    }

    /// The operation `line` is matched to, as `METHOD PATH`, or how it is not.
    fn find(operations: &[&str], servers: &[&str], maps: &[(&str, &str)], line: &str) -> String {
        let operations: Vec<Operation> = operations.iter().map(|o| operation(o)).collect();
        let servers: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
        let maps: Vec<PathMap> = maps
            .iter()
            .map(|(from, to)| PathMap {
                from: from.to_string(),
                to: to.to_string(),
            })
            .collect();
        let matcher = Matcher::new(&operations, &servers, &maps);
        let (method, target) = line.split_once(' ').unwrap();
        let show = |i: usize| format!("{} {}", operations[i].method, operations[i].path);
        match matcher.find(method, &RequestPath::parse(target)) {
            Found::Operation(i) => show(i),
            Found::OtherMethod(i) => format!("other method: {}", show(i)),
            Found::Nothing => "nothing".into(),
            Found::VariablePath => "variable".into(),
        }
    }

    const PETS: &[&str] = &[
        "GET /pet/{petId}",
        "DELETE /pet/{petId}",
        "GET /pet/findByStatus",
        "POST /pet",
    ];

    #[test]
    fn a_concrete_segment_beats_a_param() {
        assert_eq!(
            find(PETS, &[], &[], "GET /pet/findByStatus"),
            "GET /pet/findByStatus"
        );
        assert_eq!(find(PETS, &[], &[], "GET /pet/7"), "GET /pet/{petId}");
        // Document order does not matter.
        let reversed: Vec<&str> = PETS.iter().rev().copied().collect();
        assert_eq!(
            find(&reversed, &[], &[], "GET /pet/findByStatus"),
            "GET /pet/findByStatus"
        );
    }

    #[test]
    fn the_path_decides_before_the_method() {
        // The server routes /pet/findByStatus to its own path, which has no DELETE.
        assert_eq!(
            find(PETS, &[], &[], "DELETE /pet/findByStatus"),
            "other method: GET /pet/findByStatus"
        );
        assert_eq!(find(PETS, &[], &[], "delete /pet/7"), "DELETE /pet/{petId}");
        assert_eq!(find(PETS, &[], &[], "PUT /pet"), "other method: POST /pet");
        assert_eq!(find(PETS, &[], &[], "GET /store"), "nothing");
    }

    #[test]
    fn the_leftmost_difference_decides() {
        let ops = ["GET /{a}/b/{c}", "GET /{a}/{b}/c", "GET /x/{b}/{c}"];
        assert_eq!(find(&ops, &[], &[], "GET /x/b/c"), "GET /x/{b}/{c}");
        assert_eq!(find(&ops, &[], &[], "GET /y/b/c"), "GET /{a}/b/{c}");
    }

    #[test]
    fn a_mixed_segment_sits_between_concrete_and_param() {
        let ops = [
            "GET /files/{name}",
            "GET /files/{name}.{ext}",
            "GET /files/{name}.json",
            "GET /files/index.json",
        ];
        assert_eq!(
            find(&ops, &[], &[], "GET /files/index.json"),
            "GET /files/index.json"
        );
        assert_eq!(
            find(&ops, &[], &[], "GET /files/a.json"),
            "GET /files/{name}.json"
        );
        assert_eq!(
            find(&ops, &[], &[], "GET /files/a.xml"),
            "GET /files/{name}.{ext}"
        );
        assert_eq!(
            find(&ops, &[], &[], "GET /files/readme"),
            "GET /files/{name}"
        );
    }

    #[test]
    fn a_trailing_slash_tells_two_templates_apart() {
        let ops = ["GET /trail", "GET /trail/"];
        assert_eq!(find(&ops, &[], &[], "GET /trail/"), "GET /trail/");
        assert_eq!(find(&ops, &[], &[], "GET /trail"), "GET /trail");
        assert_eq!(find(&["GET /trail"], &[], &[], "GET /trail/"), "GET /trail");
    }

    #[test]
    fn text_around_a_suite_variable_meets_the_template_of_its_shape() {
        let ops = [
            "GET /v1/{name}",
            "POST /v1/{name}:cancel",
            "POST /v1/all:cancel",
        ];
        assert_eq!(
            find(&ops, &[], &[], "POST /v1/${name}:cancel"),
            "POST /v1/{name}:cancel"
        );
        assert_eq!(
            find(&ops, &[], &[], "POST /v1/jobs-${n}:cancel"),
            "POST /v1/{name}:cancel"
        );
        assert_eq!(find(&ops, &[], &[], "GET /v1/${name}"), "GET /v1/{name}");
        assert_eq!(
            find(
                &["GET /{appId}"],
                &["/crm/v3/cards"],
                &[],
                "GET /crm/v3/cards/${appId}"
            ),
            "GET /{appId}"
        );
    }

    #[test]
    fn a_suite_variable_prefers_a_param() {
        assert_eq!(find(PETS, &[], &[], "GET /pet/${id}"), "GET /pet/{petId}");
        assert_eq!(find(&["GET /me"], &[], &[], "GET /${who}"), "variable");
        assert_eq!(find(&["GET /me/x"], &[], &[], "GET /${who}/x"), "GET /me/x");
        assert_eq!(
            find(&["GET /me"], &["/v2"], &[], "GET /v2/${who}"),
            "variable"
        );
        assert_eq!(
            find(&["GET /v2"], &["/v2"], &[], "GET /v2/${who}"),
            "variable"
        );
        assert_eq!(
            find(&["GET /v2/{x}"], &["/v2"], &[], "GET /v2/${who}"),
            "GET /v2/{x}"
        );
    }

    #[test]
    fn the_path_as_written_before_the_server_prefix() {
        let ops = ["GET /anything/{x}", "GET /{x}"];
        // As written, /anything/{x} takes it; stripped, /{x} would have.
        assert_eq!(
            find(&ops, &["/anything"], &[], "GET /anything/1"),
            "GET /anything/{x}"
        );
        assert_eq!(find(&ops, &["/anything"], &[], "GET /other"), "GET /{x}");
        let ops = ["GET /pet/{petId}"];
        let server = ["https://petstore.swagger.io/v2"];
        assert_eq!(
            find(&ops, &server, &[], "GET /v2/pet/1"),
            "GET /pet/{petId}"
        );
        assert_eq!(find(&ops, &server, &[], "GET /pet/1"), "GET /pet/{petId}");
        assert_eq!(find(&ops, &server, &[], "GET /v3/pet/1"), "nothing");
    }

    #[test]
    fn operation_servers_override_the_documents() {
        let mut ops = vec![operation("GET /a"), operation("GET /b")];
        ops[1].servers = vec!["https://h/other".into()];
        let matcher = Matcher::new(&ops, &["https://h/main".into()], &[]);
        let find = |t: &str| matcher.find("GET", &RequestPath::parse(t));
        assert_eq!(find("/main/a"), Found::Operation(0));
        assert_eq!(find("/other/b"), Found::Operation(1));
        assert_eq!(find("/main/b"), Found::Nothing);
        assert_eq!(find("/other/a"), Found::Nothing);
    }

    #[test]
    fn maps_rewrite_the_path_as_written() {
        let ops = ["GET /rest/api/3/myself", "GET /rest/api/3/issue/{key}"];
        let map = [("/rest/api/2", "/rest/api/3")];
        assert_eq!(
            find(&ops, &[], &map, "GET /rest/api/2/myself"),
            "GET /rest/api/3/myself"
        );
        assert_eq!(
            find(&ops, &[], &map, "GET /rest/api/3/myself"),
            "GET /rest/api/3/myself"
        );
        assert_eq!(find(&ops, &[], &map, "GET /rest/api/20/myself"), "nothing");
        assert_eq!(find(&ops, &[], &[], "GET /rest/api/2/myself"), "nothing");
        // The longest FROM applies; the map comes before the server prefix.
        let maps = [("/x", "/rest"), ("/x/y", "/rest/api/3")];
        assert_eq!(
            find(&ops, &[], &maps, "GET /x/y/issue/K-1"),
            "GET /rest/api/3/issue/{key}"
        );
        let ops = ["GET /pets"];
        let map = [("/legacy", "/v1")];
        assert_eq!(
            find(&ops, &["/v1"], &map, "GET /legacy/pets?x=1"),
            "GET /pets"
        );
    }
}
