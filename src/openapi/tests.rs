//! The walk over small documents in each version, one edge case at a time.

use std::path::Path;

use serde_json::json;

use super::*;

fn spec(value: serde_json::Value) -> Spec {
    match from_value(Path::new("t.json"), &value) {
        Ok(spec) => spec,
        Err(e) => panic!("{e}"),
    }
}

fn op<'s>(spec: &'s Spec, method: &str) -> &'s Operation {
    match spec.operations.iter().find(|o| o.method == method) {
        Some(operation) => operation,
        None => panic!("no {method}"),
    }
}

fn lines(spec: &Spec) -> Vec<String> {
    spec.operations
        .iter()
        .map(|o| format!("{} {}", o.method, o.path))
        .collect()
}

#[test]
fn every_method_under_every_path_in_path_then_method_order() {
    let s = spec(
        json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
            "/b": {"trace": {}, "get": {}, "x-internal": {}, "summary": "s", "patch": {}},
            "/a": {"head": {}, "options": {}, "delete": {}, "post": {}, "put": {}}
        }}),
    );
    assert_eq!(
        lines(&s),
        [
            "GET /b",
            "PATCH /b",
            "TRACE /b",
            "PUT /a",
            "POST /a",
            "DELETE /a",
            "OPTIONS /a",
            "HEAD /a"
        ]
    );
}

#[test]
fn path_item_references_and_circular_ones_do_not_loop() {
    let s = spec(
        json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "components": {"pathItems": {"Pets": {"get": {"operationId": "listPets"}}}},
            "paths": {
                "/pets": {"$ref": "#/components/pathItems/Pets"},
                "/loop": {"$ref": "#/paths/~1loop"},
                "/ext": {"$ref": "other.yaml#/paths/x"}
            },
            "webhooks": {"newPet": {"post": {"operationId": "hook"}}}
        }),
    );
    assert_eq!(lines(&s), ["GET /pets"]);
    assert_eq!(s.operations[0].operation_id.as_deref(), Some("listPets"));
    assert!(
        s.warnings.iter().any(|w| w.contains("other.yaml")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("/loop")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn operation_parameters_win_over_path_parameters_by_name_and_location() {
    let s = spec(
        json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
            "components": {"parameters": {"Limit": {"name": "limit", "in": "query", "required": true, "schema": {"type": "integer", "default": 20}}}},
            "paths": {"/pets/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "id", "in": "header", "schema": {"type": "string"}},
                    {"$ref": "#/components/parameters/Limit"}
                ],
                "get": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "example": 7}}]}
            }}
        }),
    );
    let params = &s.operations[0].parameters;
    assert_eq!(params.len(), 3, "{params:?}");
    assert_eq!(params[0].location, Location::Path);
    assert_eq!(params[0].example, Some(json!(7)));
    assert_eq!(params[0].kind, "integer");
    assert_eq!(params[1].location, Location::Header);
    assert_eq!(params[2].name, "limit");
    assert!(params[2].required);
    assert_eq!(params[2].example, Some(json!(20)));
}

#[test]
fn servers_take_their_variables_defaults_and_swagger_2_its_host() {
    let s = spec(
        json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://{region}.example.com:{port}/v1", "variables": {
            "region": {"default": "eu", "enum": ["us", "eu"]}, "port": {"enum": ["8443"]}}}],
        "paths": {}}),
    );
    assert_eq!(s.servers, ["https://eu.example.com:8443/v1"]);
    let s = spec(
        json!({"swagger": "2.0", "info": {"title": "t", "version": "1"},
        "host": "petstore.swagger.io", "basePath": "/v2", "schemes": ["http"], "paths": {}}),
    );
    assert_eq!(s.servers, ["http://petstore.swagger.io/v2"]);
    let s = spec(
        json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/api", "paths": {}}),
    );
    assert_eq!(s.servers, ["/api"]);
}

#[test]
fn every_security_scheme_kind_is_named() {
    let s = spec(
        json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"securitySchemes": {
            "basic": {"type": "http", "scheme": "Basic"},
            "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "qkey": {"type": "apiKey", "in": "query", "name": "api_key"},
            "ckey": {"type": "apiKey", "in": "cookie", "name": "session"},
            "cc": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {}}}},
            "code": {"type": "oauth2", "flows": {"authorizationCode": {"authorizationUrl": "a", "tokenUrl": "t", "scopes": {}}}},
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x/.well-known/openid-configuration"},
            "mtls": {"type": "mutualTLS"},
            "digest": {"type": "http", "scheme": "digest"}
        }}}),
    );
    let kinds: Vec<_> = s.schemes.iter().map(|s| s.kind.clone()).collect();
    assert_eq!(kinds[0], SchemeKind::Basic);
    assert_eq!(kinds[1], SchemeKind::Bearer);
    assert_eq!(
        kinds[2],
        SchemeKind::ApiKey {
            location: Location::Header,
            name: "X-API-Key".into()
        }
    );
    assert_eq!(
        kinds[3],
        SchemeKind::ApiKey {
            location: Location::Query,
            name: "api_key".into()
        }
    );
    assert_eq!(
        kinds[4],
        SchemeKind::ApiKey {
            location: Location::Cookie,
            name: "session".into()
        }
    );
    assert_eq!(
        kinds[5],
        SchemeKind::ClientCredentials {
            token_url: "https://auth.example.com/token".into()
        }
    );
    assert_eq!(kinds[6], SchemeKind::Bearer);
    assert_eq!(kinds[7], SchemeKind::Bearer);
    assert_eq!(kinds[8], SchemeKind::MutualTls);
    assert_eq!(kinds[9], SchemeKind::Other("http digest".into()));
}

#[test]
fn operation_security_overrides_the_documents_and_empty_means_open() {
    let s = spec(
        json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
        "security": [{"key": []}],
        "paths": {"/a": {"get": {}, "post": {"security": []}, "put": {"security": [{}, {"oauth": ["write"]}]}}}}),
    );
    let security = |method: &str| op(&s, method).security.clone();
    assert_eq!(
        security("GET"),
        Some(vec![Requirement(vec![("key".into(), vec![])])])
    );
    assert_eq!(security("POST"), Some(vec![]));
    assert!(
        security("PUT")
            .as_ref()
            .is_some_and(|r| r[0].is_open() && r[1].0[0].1 == ["write"])
    );
}

#[test]
fn request_bodies_from_examples_schemas_and_swagger_2_parameters() {
    let s = spec(
        json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {
            "post": {"requestBody": {"content": {"application/xml": {}, "application/json": {"schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}}}},
            "put": {"requestBody": {"content": {"application/x-www-form-urlencoded": {"example": {"a": "b"}}}}}
        }}}),
    );
    let post = op(&s, "POST").body.clone();
    assert!(
        post.as_ref()
            .is_some_and(|b| b.kind == BodyKind::Json && b.example == json!({"n": 1})),
        "{post:?}"
    );
    assert!(
        op(&s, "PUT")
            .body
            .as_ref()
            .is_some_and(|b| b.kind == BodyKind::Form)
    );
    let s = spec(
        json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {
            "post": {"parameters": [{"in": "body", "name": "body", "schema": {"type": "object", "required": ["x"], "properties": {"x": {"type": "string", "format": "uuid"}}}}]},
            "put": {"parameters": [{"in": "formData", "name": "f", "required": true, "type": "string"}]}
        }}}),
    );
    assert_eq!(
        op(&s, "POST").body.as_ref().map(|b| b.example.clone()),
        Some(json!({"x": "00000000-0000-0000-0000-000000000000"}))
    );
    assert_eq!(
        op(&s, "PUT").body.as_ref().map(|b| b.kind.clone()),
        Some(BodyKind::Form)
    );
}

#[test]
fn what_is_not_a_spec_is_refused_with_the_reason() {
    for (doc, wanted) in [
        (json!([1, 2]), "expected a map"),
        (json!({"info": {}}), "no `openapi` or `swagger`"),
        (
            json!({"openapi": "4.0.0"}),
            "unsupported OpenAPI version 4.0.0",
        ),
        (json!({"swagger": "1.2"}), "unsupported Swagger version 1.2"),
    ] {
        match from_value(Path::new("t.json"), &doc) {
            Ok(_) => panic!("{doc} was accepted"),
            Err(e) => assert!(e.to_string().contains(wanted), "{e}"),
        }
    }
}

#[test]
fn openapi_3_2_adds_the_query_method_and_additional_operations() {
    let s = spec(
        json!({"openapi": "3.2.0", "info": {"title": "t", "version": "1"}, "paths": {
            "/search": {"get": {}, "query": {"operationId": "search"}, "additionalOperations": {"LINK": {"operationId": "link"}}}
        }}),
    );
    assert_eq!(s.version, Version::OpenApi32);
    assert_eq!(lines(&s), ["GET /search", "QUERY /search", "LINK /search"]);
}
