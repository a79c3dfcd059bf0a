//! The cases of both suites, laid out as the spec is: `app/` holds the
//! cases that test an application (the runner plays the web server),
//! `server/` those that test a web server (the runner plays the
//! application), one file per spec section, each file naming its section
//! once. A case's id is built from suite, section and slug, so the id and
//! the section cannot disagree; `list` and the runners read the same table.

pub mod app;
pub mod server;

/// Declares a section file's cases for a suite: `section "3.3";` then, per
/// case, its slug, requirements (constants of `fcgi_proto::requirement`,
/// e.g. `R_3_3_1`), kind, title, expectation and body. The id is
/// `suite/section/slug`, and the case's `Section` is looked up from the
/// same literal at compile time, so id and section cannot disagree and a
/// section or requirement the spec does not have (or has retired) does not
/// compile. The file's parent module names the `Case` type, so both suites
/// share this one declaration.
macro_rules! declare_cases {
    ($suite:literal; section $section:literal; $(
        $slug:literal [$($req:ident),*] $kind:ident $title:literal $expects:literal => $f:ident;
    )*) => {
        const SECTION: fcgi_proto::requirement::Section =
            match fcgi_proto::requirement::Section::from_short($section) {
                Some(s) => s,
                None => panic!(concat!("the spec has no section ", $section)),
            };

        /// This section's cases, in the order written.
        pub(super) fn cases() -> Vec<super::Case> {
            vec![$(super::Case {
                info: crate::case::CaseInfo {
                    id: concat!($suite, "/", $section, "/", $slug),
                    title: $title,
                    section: SECTION,
                    requirements: &[$(fcgi_proto::requirement::$req),*],
                    expects: $expects,
                },
                kind: crate::suites::Kind::$kind,
                run: |ctx| Box::pin($f(ctx)),
            }),*]
        }
    };
}
pub(crate) use declare_cases;

use std::future::Future;
use std::pin::Pin;

use crate::case::{CaseInfo, Outcome};

/// A case's running body, boxed.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// What a case sends, which decides how it may be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only traffic the spec allows, on the path every web server takes:
    /// runs beside other plain cases.
    Plain,
    /// Traffic the spec allows but that is off that path (management
    /// records, aborts, refusals, roles other than Responder, multiplexing,
    /// unusual encodings), or a case that judges a connection rather than
    /// its own requests (reuse, closes, GET_VALUES on a connection, the ids
    /// a server picks, which other cases' requests would change): runs
    /// alone, so that a target that falls over on it is named on it and
    /// its verdict does not depend on what ran beside it, whatever the
    /// concurrency.
    Alone,
    /// Traffic that breaks the spec: runs alone, and the runner then checks
    /// that the target still serves.
    Hostile,
}

/// A case: its description, its kind and its body.
#[derive(Clone)]
pub struct Case<Run> {
    /// What it is.
    pub info: CaseInfo,
    /// How it may be scheduled.
    pub kind: Kind,
    /// What it does.
    pub run: Run,
}
