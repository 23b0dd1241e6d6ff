//! Tamper probes: callers derived from a principal with a broken credential
//! (`app~bad_signature`), which must be refused wherever the principal is let in.

use super::expect::Expectation;
use super::model::{AuthSpec, JwtKey, Principal};
use super::read::Reader;
use super::yaml::{Node, Value};

/// One way of breaking a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    /// No credential at all.
    None,
    /// Basic with the password altered.
    WrongPassword,
    /// One character of the credential changed.
    Mangled,
    /// The credential cut to half its length.
    Truncated,
    /// A JWT whose signature bytes are altered.
    BadSignature,
    /// A JWT with `alg: none` and no signature.
    AlgNone,
    /// A JWT that expired an hour ago, signed with the real key.
    Expired,
    /// A JWT valid only from an hour ahead, signed with the real key.
    NotYetValid,
    /// A JWT for another audience, signed with the real key.
    WrongAudience,
    /// A JWT from another issuer, signed with the real key.
    WrongIssuer,
    /// A JWT signed with another key.
    WrongKey,
    /// A Connect JWT whose qsh is another request's.
    WrongQsh,
    /// A Connect JWT without qsh.
    NoQsh,
    /// A login's token or session cookie, altered.
    StaleSession,
}

/// Every probe, in the order they are derived and reported.
pub const ALL: &[Probe] = &[
    Probe::None,
    Probe::WrongPassword,
    Probe::Mangled,
    Probe::Truncated,
    Probe::BadSignature,
    Probe::AlgNone,
    Probe::Expired,
    Probe::NotYetValid,
    Probe::WrongAudience,
    Probe::WrongIssuer,
    Probe::WrongKey,
    Probe::WrongQsh,
    Probe::NoQsh,
    Probe::StaleSession,
];

impl Probe {
    /// The name in suites, on the command line and after `~`.
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::None => "none",
            Probe::WrongPassword => "wrong_password",
            Probe::Mangled => "mangled",
            Probe::Truncated => "truncated",
            Probe::BadSignature => "bad_signature",
            Probe::AlgNone => "alg_none",
            Probe::Expired => "expired",
            Probe::NotYetValid => "not_yet_valid",
            Probe::WrongAudience => "wrong_audience",
            Probe::WrongIssuer => "wrong_issuer",
            Probe::WrongKey => "wrong_key",
            Probe::WrongQsh => "wrong_qsh",
            Probe::NoQsh => "no_qsh",
            Probe::StaleSession => "stale_session",
        }
    }

    /// What it alters, for `explain`.
    pub fn describe(self) -> &'static str {
        match self {
            Probe::None => "no credential at all",
            Probe::WrongPassword => "the Basic password altered",
            Probe::Mangled => "one character of the credential changed",
            Probe::Truncated => "the credential cut to half its length",
            Probe::BadSignature => "the JWT's signature bytes altered",
            Probe::AlgNone => "the JWT unsigned, with `alg: none`",
            Probe::Expired => "the JWT's `exp` an hour ago, signed with the real key",
            Probe::NotYetValid => {
                "the JWT's `nbf` and `iat` an hour ahead, signed with the real key"
            }
            Probe::WrongAudience => "the JWT's `aud` another audience, signed with the real key",
            Probe::WrongIssuer => "the JWT's `iss` another issuer, signed with the real key",
            Probe::WrongKey => "the JWT signed with another key",
            Probe::WrongQsh => "the Connect JWT's `qsh` that of another request",
            Probe::NoQsh => "the Connect JWT without `qsh`",
            Probe::StaleSession => "the login's token or session cookie altered",
        }
    }

    /// The probe named `name`.
    pub fn parse(name: &str) -> Option<Probe> {
        ALL.iter().copied().find(|p| p.as_str() == name)
    }

    /// Whether the probe means something for a principal that authenticates
    /// so: a probe that cannot break its credential is not derived.
    pub fn applies_to(self, auth: &AuthSpec) -> bool {
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
        match self {
            Probe::None => !matches!(auth, AuthSpec::None),
            Probe::WrongPassword => matches!(auth, AuthSpec::Basic { .. }),
            Probe::Mangled | Probe::Truncated => matches!(
                auth,
                AuthSpec::Bearer { .. }
                    | AuthSpec::Header { .. }
                    | AuthSpec::Query { .. }
                    | AuthSpec::Cookie { .. }
            ),
            Probe::BadSignature | Probe::AlgNone | Probe::Expired | Probe::NotYetValid => jwt,
            Probe::WrongKey => match auth {
                AuthSpec::Jwt(j) => matches!(j.key, JwtKey::Secret(_)),
                _ => jwt,
            },
            Probe::WrongAudience => claims(auth, "aud"),
            Probe::WrongIssuer => claims(auth, "iss"),
            Probe::WrongQsh | Probe::NoQsh => matches!(auth, AuthSpec::ConnectJwt(_)),
            Probe::StaleSession => matches!(auth, AuthSpec::Login(_)),
        }
    }
}

/// A principal derived by a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeOf {
    /// The principal it is derived from (its index).
    pub base: usize,
    /// How its credential is broken.
    pub probe: Probe,
}

/// `probes:` as written: a list, `all`, or (on the command line) `none`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeChoice {
    /// Every probe that applies.
    All,
    /// These.
    Some(Vec<Probe>),
}

impl ProbeChoice {
    /// Whether `probe` is chosen.
    pub fn includes(&self, probe: Probe) -> bool {
        match self {
            ProbeChoice::All => true,
            ProbeChoice::Some(list) => list.contains(&probe),
        }
    }

    /// `--probes LIST`: comma-separated names, `all`, or `none` (no probe).
    pub fn from_flag(text: &str) -> Result<ProbeChoice, String> {
        match text.trim() {
            "all" => Ok(ProbeChoice::All),
            "none" | "" => Ok(ProbeChoice::Some(Vec::new())),
            list => list
                .split(',')
                .map(|name| Probe::parse(name.trim()).ok_or_else(|| unknown(name.trim())))
                .collect::<Result<Vec<_>, _>>()
                .map(ProbeChoice::Some),
        }
    }
}

fn unknown(name: &str) -> String {
    let names: Vec<&str> = ALL.iter().map(|p| p.as_str()).collect();
    format!("`{name}` is not a probe: use {} or all", names.join(", "))
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
            if !choice.includes(probe) || !probe.applies_to(&principal.auth) {
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
