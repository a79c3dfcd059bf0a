//! The sections and requirement IDs of the annotated specification
//! (`spec/fastcgi-1.0.md`, `spec/requirements.toml`) as types, so that code
//! naming a requirement names one that exists: `R_3_3_1` is `R-3.3-1`, and
//! an ID the spec does not define, or has retired, does not compile.
//!
//! [`Section`], the constants and [`Requirement::ALL`] are generated into
//! `requirement/ids.rs` from the spec; a test of the conformance crate fails
//! when that file is stale.
//!
//! ```
//! use fcgi_proto::requirement::{Level, Party, Requirement, Section, R_3_3_1};
//! assert_eq!(R_3_3_1.id(), "R-3.3-1");
//! assert_eq!(R_3_3_1.section(), Section::S3_3);
//! assert_eq!(R_3_3_1.section().to_string(), "§3.3");
//! assert_eq!(R_3_3_1.section().short(), "3.3");
//! assert_eq!((R_3_3_1.level(), R_3_3_1.party()), (Level::Must, Party::Both));
//! assert_eq!(Requirement::by_id("R-3.3-1"), Some(R_3_3_1));
//! assert_eq!(Section::from_short("A").map(|s| s.to_string()).as_deref(), Some("appendix A"));
//! ```
//!
//! An ID the spec does not have is no constant:
//!
//! ```compile_fail
//! let _ = fcgi_proto::requirement::R_3_3_99;
//! ```
//!
//! and a section looked up in a constant fails the build when it is not one:
//!
//! ```compile_fail
//! use fcgi_proto::requirement::Section;
//! const S: Section = match Section::from_short("3.9") {
//!     Some(s) => s,
//!     None => panic!("no such section"),
//! };
//! ```

use std::fmt;

// Generated text, laid out by its generator rather than by rustfmt.
#[rustfmt::skip]
mod ids;

pub use ids::*;

/// How strongly the spec asks for a behaviour (`level` in requirements.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `MUST`: breaking it breaks the protocol.
    Must,
    /// `SHOULD`: expected unless there is a good reason.
    Should,
    /// `MAY`: allowed, not asked for.
    May,
}

impl Level {
    /// `"MUST"`, `"SHOULD"` or `"MAY"`, as the spec writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Which party a requirement binds (`party` in requirements.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// The FastCGI application.
    Application,
    /// The web server.
    WebServer,
    /// Both parties, e.g. a rule on every record sent.
    Both,
}

impl Party {
    /// `"application"`, `"web-server"` or `"both"`, as the spec writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Party::Application => "application",
            Party::WebServer => "web-server",
            Party::Both => "both",
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One live requirement of the spec. The only values are the generated
/// constants (`R_3_3_1` …), listed in [`Requirement::ALL`]; retired IDs
/// have none (see [`RETIRED`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Requirement {
    id: &'static str,
    section: Section,
    level: Level,
    party: Party,
    derived: bool,
    summary: &'static str,
}

impl Requirement {
    /// The stable ID, e.g. `"R-3.3-1"`.
    pub const fn id(self) -> &'static str {
        self.id
    }

    /// The section that states it.
    pub const fn section(self) -> Section {
        self.section
    }

    /// MUST, SHOULD or MAY.
    pub const fn level(self) -> Level {
        self.level
    }

    /// The party it binds.
    pub const fn party(self) -> Party {
        self.party
    }

    /// True when the original implies it without saying it in so many words.
    pub const fn derived(self) -> bool {
        self.derived
    }

    /// The requirement in one sentence, in the spec's words.
    pub const fn summary(self) -> &'static str {
        self.summary
    }

    /// The live requirement with this ID, e.g. `"R-3.3-1"`; `None` for an
    /// ID the spec does not define or has retired.
    pub fn by_id(id: &str) -> Option<Requirement> {
        Requirement::ALL.iter().copied().find(|r| r.id == id)
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Requirement").field(&self.id).finish()
    }
}

/// The ID, e.g. `R-3.3-1`.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.id)
    }
}

impl Section {
    /// The section whose short form is `short` (`"3.3"`, `"4"`, `"A"`).
    /// A `const fn`, so a short form written in code can be checked at
    /// compile time.
    pub const fn from_short(short: &str) -> Option<Section> {
        let mut rest = Section::ALL;
        while let Some((s, tail)) = rest.split_first() {
            if bytes_eq(s.short().as_bytes(), short.as_bytes()) {
                return Some(*s);
            }
            rest = tail;
        }
        None
    }
}

/// `§3.3`, or `appendix A`.
impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Declares that the calling unit test checks `requirements` (the
/// traceability test counts the constants a test names); does nothing when
/// run. Integration tests have the same in `tests/common/traceability.rs`.
#[cfg(test)]
pub(crate) fn checks(requirements: &[Requirement]) {
    let _ = requirements;
}

const fn bytes_eq(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a.split_first(), b.split_first()) {
            (Some((x, ra)), Some((y, rb))) if *x == *y => {
                a = ra;
                b = rb;
            }
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_found_by_id() {
        for (i, r) in Requirement::ALL.iter().enumerate() {
            assert_eq!(Requirement::by_id(r.id()), Some(*r));
            assert!(Requirement::ALL
                .get(..i)
                .is_some_and(|before| before.iter().all(|b| b.id() != r.id())));
            assert!(!RETIRED.contains(&r.id()), "{r} is retired");
        }
        // Spelled in two pieces: traceability flags unknown IDs in the text.
        assert_eq!(Requirement::by_id(concat!("R-3.3", "-0")), None);
        assert_eq!(Requirement::by_id(""), None);
    }

    #[test]
    fn ids_carry_their_section() {
        for r in Requirement::ALL {
            let rest = r.id().strip_prefix("R-").unwrap_or_default();
            let section = rest.rsplit_once('-').map(|(s, _)| s);
            assert_eq!(section, Some(r.section().short()), "{r}");
        }
    }

    #[test]
    fn sections_round_trip_and_read_as_the_spec_writes_them() {
        for s in Section::ALL {
            assert_eq!(Section::from_short(s.short()), Some(*s));
            let want = match s.short().as_bytes() {
                [c] if c.is_ascii_uppercase() => format!("appendix {}", s.short()),
                _ => format!("§{}", s.short()),
            };
            assert_eq!(s.to_string(), want);
        }
        assert_eq!(Section::from_short("3.3"), Some(Section::S3_3));
        assert_eq!(Section::from_short("§3.3"), None);
        assert_eq!(Section::from_short("10"), None);
        assert_eq!(format!("{:<6}|", Section::S4), "§4    |");
    }

    #[test]
    fn sections_are_ordered_as_the_spec() {
        let mut sorted = Section::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Section::ALL);
        assert!(Section::S4 < Section::S4_1 && Section::S4_2 < Section::S5);
        assert!(Section::S9 < Section::AppendixA && Section::AppendixA < Section::AppendixB);
    }
}
