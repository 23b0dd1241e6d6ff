//! Atlassian Connect scopes and what each implies (FACTS.md §5).

use std::fmt;

/// A Connect scope, as granted to an app or required by a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectScope {
    /// App-defined data; implied by every scope.
    None,
    /// Read.
    Read,
    /// Write; implies READ.
    Write,
    /// Delete; implies WRITE.
    Delete,
    /// Project administration; implies DELETE.
    ProjectAdmin,
    /// Administration; implies PROJECT_ADMIN.
    Admin,
    /// User impersonation (the JWT-bearer grant); implies nothing.
    ActAsUser,
    /// Users' email addresses; implies nothing.
    AccessEmailAddresses,
    /// A route no app may call, whatever its scopes.
    Inaccessible,
}

impl ConnectScope {
    /// Every name, as written in definitions.
    pub const NAMES: &'static [&'static str] = &[
        "NONE",
        "READ",
        "WRITE",
        "DELETE",
        "PROJECT_ADMIN",
        "ADMIN",
        "ACT_AS_USER",
        "ACCESS_EMAIL_ADDRESSES",
        "INACCESSIBLE",
    ];

    /// Parses a scope name, case-insensitively (`SPACE_ADMIN` is Confluence's PROJECT_ADMIN).
    pub fn parse(name: &str) -> Option<ConnectScope> {
        Some(match name.trim().to_ascii_uppercase().as_str() {
            "NONE" => ConnectScope::None,
            "READ" => ConnectScope::Read,
            "WRITE" => ConnectScope::Write,
            "DELETE" => ConnectScope::Delete,
            "PROJECT_ADMIN" | "SPACE_ADMIN" => ConnectScope::ProjectAdmin,
            "ADMIN" => ConnectScope::Admin,
            "ACT_AS_USER" => ConnectScope::ActAsUser,
            "ACCESS_EMAIL_ADDRESSES" => ConnectScope::AccessEmailAddresses,
            "INACCESSIBLE" => ConnectScope::Inaccessible,
            _ => return None,
        })
    }

    /// The chain rank of ADMIN → PROJECT_ADMIN → DELETE → WRITE → READ → NONE.
    fn rank(self) -> Option<u8> {
        match self {
            ConnectScope::None => Some(0),
            ConnectScope::Read => Some(1),
            ConnectScope::Write => Some(2),
            ConnectScope::Delete => Some(3),
            ConnectScope::ProjectAdmin => Some(4),
            ConnectScope::Admin => Some(5),
            _ => None,
        }
    }

    /// Whether holding `self` covers a route that requires `required`.
    pub fn covers(self, required: ConnectScope) -> bool {
        match (self.rank(), required.rank()) {
            _ if required == ConnectScope::Inaccessible => false,
            _ if required == ConnectScope::None => true,
            (Some(held), Some(needed)) => held >= needed,
            _ => self == required,
        }
    }

    /// Whether any of `granted` covers `required`.
    pub fn granted(granted: &[ConnectScope], required: ConnectScope) -> bool {
        granted.iter().any(|g| g.covers(required))
    }
}

impl fmt::Display for ConnectScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = match self {
            ConnectScope::None => 0,
            ConnectScope::Read => 1,
            ConnectScope::Write => 2,
            ConnectScope::Delete => 3,
            ConnectScope::ProjectAdmin => 4,
            ConnectScope::Admin => 5,
            ConnectScope::ActAsUser => 6,
            ConnectScope::AccessEmailAddresses => 7,
            ConnectScope::Inaccessible => 8,
        };
        f.write_str(ConnectScope::NAMES[index])
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectScope::*;
    use super::*;

    #[test]
    fn the_chain_implies_downwards_and_the_rest_stand_alone() {
        assert!(Admin.covers(Read) && Admin.covers(ProjectAdmin) && Write.covers(Read));
        assert!(!Read.covers(Write) && !Write.covers(Delete));
        assert!(!Admin.covers(ActAsUser) && !ActAsUser.covers(Read) && ActAsUser.covers(ActAsUser));
        assert!(!Admin.covers(Inaccessible) && Read.covers(None));
        assert!(!AccessEmailAddresses.covers(Read) && Admin.covers(None));
        assert_eq!(ConnectScope::parse("space_admin"), Some(ProjectAdmin));
        assert_eq!(ProjectAdmin.to_string(), "PROJECT_ADMIN");
    }
}
