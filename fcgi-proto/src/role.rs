//! Roles (§6): what the web server asks the application to do.

/// The role in `FCGI_BEGIN_REQUEST` (§5.1, §6). Unknown codes are kept:
/// the application answers them with `FCGI_UNKNOWN_ROLE` (R-5.1-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `FCGI_RESPONDER` = 1 (§6.2).
    Responder,
    /// `FCGI_AUTHORIZER` = 2 (§6.3).
    Authorizer,
    /// `FCGI_FILTER` = 3 (§6.4).
    Filter,
    /// Any other code; never 1, 2 or 3.
    Unknown(u16),
}

impl Role {
    /// The role for a wire code (§8).
    pub fn from_u16(code: u16) -> Self {
        match code {
            1 => Role::Responder,
            2 => Role::Authorizer,
            3 => Role::Filter,
            other => Role::Unknown(other),
        }
    }

    /// The wire code (§8).
    pub fn code(self) -> u16 {
        match self {
            Role::Responder => 1,
            Role::Authorizer => 2,
            Role::Filter => 3,
            Role::Unknown(c) => c,
        }
    }

    /// The spec's name without `FCGI_`, e.g. `"RESPONDER"`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Responder => "RESPONDER",
            Role::Authorizer => "AUTHORIZER",
            Role::Filter => "FILTER",
            Role::Unknown(_) => "UNKNOWN",
        }
    }

    /// Whether the role's request carries an FCGI_STDIN stream with content
    /// (§6.2, §6.4; an authorizer's STDIN is empty, §6.3).
    pub fn reads_stdin(self) -> bool {
        matches!(self, Role::Responder | Role::Filter)
    }

    /// Whether the role's request carries FCGI_DATA (§6.4).
    pub fn reads_data(self) -> bool {
        matches!(self, Role::Filter)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Role {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Role::from_u16(u16::arbitrary(u)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in [0u16, 1, 2, 3, 4, 99, u16::MAX] {
            assert_eq!(Role::from_u16(c).code(), c);
        }
        assert_eq!(Role::from_u16(99), Role::Unknown(99));
    }
}
