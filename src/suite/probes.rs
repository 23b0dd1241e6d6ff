//! Tamper probes in a suite: `probes:` read, and the callers they derive
//! from a principal with a broken credential (`app~bad_signature`), which
//! must be refused wherever the principal is let in.

use super::expect::Expectation;
use super::model::{AuthSpec, JwtKey, Principal};
use super::probe::{ALL, Probe, ProbeChoice, ProbeOf, unknown};
use super::read::Reader;
use super::yaml::{Node, Value};

/// Whether `probe` means something for a principal that authenticates so:
/// a probe that cannot break its credential is not derived.
pub fn applies(probe: Probe, auth: &AuthSpec) -> bool {
    let claims = |auth: &AuthSpec, claim: &str| match auth {
        AuthSpec::Jwt(jwt) => jwt.claims.iter().any(|(name, _)| name == claim),
        AuthSpec::ConnectJwt(connect) => match claim {
            "iss" => true,
            "aud" => connect.audience.is_some(),
            _ => false,
        },
        _ => false,
    };
    let jwt = matches!(auth, AuthSpec::Jwt(_) | AuthSpec::ConnectJwt(_));
    let grant = matches!(
        auth,
        AuthSpec::ClientCredentials(_) | AuthSpec::JwtBearerGrant(_)
    );
    match probe {
        Probe::None => !matches!(auth, AuthSpec::None),
        Probe::WrongPassword => matches!(auth, AuthSpec::Basic { .. }),
        Probe::Mangled | Probe::Truncated => matches!(
            auth,
            AuthSpec::Bearer { .. }
                | AuthSpec::Header { .. }
                | AuthSpec::Query { .. }
                | AuthSpec::Cookie { .. }
        ),
        // A grant's access token may be a JWT: its signature and algorithm
        // can be broken without the server's key.
        Probe::BadSignature | Probe::AlgNone => jwt || grant,
        Probe::Expired | Probe::NotYetValid => jwt,
        Probe::WrongKey => match auth {
            AuthSpec::Jwt(j) => matches!(j.key, JwtKey::Secret(_)),
            _ => jwt || grant,
        },
        Probe::OtherAlgorithm => match auth {
            AuthSpec::Jwt(j) => matches!(j.key, JwtKey::PrivateKeyFile(_)),
            _ => false,
        },
        Probe::WrongAudience => claims(auth, "aud"),
        Probe::WrongIssuer => claims(auth, "iss"),
        Probe::WrongQsh | Probe::NoQsh => matches!(auth, AuthSpec::ConnectJwt(_)),
        Probe::StaleSession => matches!(auth, AuthSpec::Login(_)),
    }
}

/// Reads `probes:` (a list of names, or `all`).
pub(super) fn read_choice(r: &mut Reader<'_>, node: &Node) -> Option<ProbeChoice> {
    match &node.value {
        Value::Str(text) if text == "all" => Some(ProbeChoice::All),
        Value::Seq(items) => {
            let mut list = Vec::new();
            for item in items {
                let name = r.string(item, "a probe")?;
                match Probe::parse(&name) {
                    Some(probe) => list.push(probe),
                    None => r.diags.error(item.pos, unknown(&name)),
                }
            }
            Some(ProbeChoice::Some(list))
        }
        _ => {
            r.diags.error_with_help(
                node.pos,
                "`probes:` is a list of probes or `all`",
                "e.g. `probes: [none, mangled, bad_signature]`",
            );
            None
        }
    }
}

/// The principals `probes` derives from `principals` (after them, in
/// principal then probe order), each with the expectation of its probes.
pub fn derive(
    principals: &[Principal],
    suite_choice: Option<&ProbeChoice>,
    own_choice: &[Option<ProbeChoice>],
    flag: Option<&ProbeChoice>,
) -> Vec<Principal> {
    let mut derived = Vec::new();
    for (base, principal) in principals.iter().enumerate() {
        let choice = flag
            .or(own_choice.get(base).and_then(Option::as_ref))
            .or(suite_choice);
        let Some(choice) = choice else {
            continue;
        };
        for probe in ALL.iter().copied() {
            if !choice.includes(probe) || !applies(probe, &principal.auth) {
                continue;
            }
            let mut derived_principal = Principal {
                name: format!("{}~{}", principal.name, probe.as_str()),
                probe: Some(ProbeOf { base, probe }),
                canary: None,
                scopes: None,
                description: Some(format!("{}, {}", principal.name, probe.describe())),
                ..principal.clone()
            };
            // No credential at all: neither its auth mode nor its own headers.
            if probe == Probe::None {
                derived_principal.auth = AuthSpec::None;
                derived_principal.headers.clear();
            }
            derived.push(derived_principal);
        }
    }
    derived
}

/// The expectation of a probe principal's cells: `expect_probes`, else deny.
pub fn expectation(own: Option<&Expectation>, suite: Option<&Expectation>) -> Expectation {
    own.or(suite).cloned().unwrap_or(Expectation::Deny)
}
