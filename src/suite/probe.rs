//! The tamper probes there are, their names, and which a suite or the
//! command line chooses.

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
    /// An HS256 JWT whose HMAC key is the principal's RS/ES public key (the
    /// algorithm confusion).
    OtherAlgorithm,
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
    Probe::OtherAlgorithm,
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
            Probe::OtherAlgorithm => "other_algorithm",
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
            Probe::OtherAlgorithm => {
                "the JWT as HS256, keyed with the principal's public key (algorithm confusion)"
            }
            Probe::WrongQsh => "the Connect JWT's `qsh` that of another request",
            Probe::NoQsh => "the Connect JWT without `qsh`",
            Probe::StaleSession => "the login's token or session cookie altered",
        }
    }

    /// The probe named `name`.
    pub fn parse(name: &str) -> Option<Probe> {
        ALL.iter().copied().find(|p| p.as_str() == name)
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
    pub fn from_flag(text: &str) -> Result<ProbeChoice, UnknownProbe> {
        match text.trim() {
            "all" => Ok(ProbeChoice::All),
            "none" | "" => Ok(ProbeChoice::Some(Vec::new())),
            list => list
                .split(',')
                .map(|name| {
                    Probe::parse(name.trim()).ok_or_else(|| UnknownProbe(name.trim().to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ProbeChoice::Some),
        }
    }
}

/// A name that is no probe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", unknown(.0))]
pub struct UnknownProbe(String);

/// The message for a name that is no probe.
pub(super) fn unknown(name: &str) -> String {
    let names: Vec<&str> = ALL.iter().map(|p| p.as_str()).collect();
    format!("`{name}` is not a probe: use {} or all", names.join(", "))
}
