//! # fcgi-conformance
//!
//! The conformance suite for FastCGI 1.0, as a command line (feature
//! `cli`, on by default) and as a library. `app` tests a FastCGI
//! application (the runner plays the web server); `server` tests a web
//! server (the runner plays the application). Every case names its spec
//! section and requirement IDs; with no target, each suite runs against
//! this crate's bundled reference peer.
//!
//! ## Use it as a library
//!
//! [`AppSuite`] and [`ServerSuite`] are builders with defaults (those of
//! the command line with no flags); `run` returns the one [`Report`] type
//! of both suites, or an [`Error`] saying by kind why no case ran.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use fcgi_conformance::{AppSuite, Error, Verdict};
//!
//! let rt = tokio::runtime::Runtime::new()?;
//! // The bundled reference application, started in-process.
//! let report = rt.block_on(
//!     AppSuite::reference()
//!         .jobs(2)
//!         .timeout(Duration::from_secs(5))
//!         .only("app/4.1")
//!         .run(),
//! )?;
//! assert!(report.cases.iter().all(|c| c.outcome.verdict != Verdict::Fail));
//! println!("{}", report.text());
//!
//! // Options are checked before anything runs.
//! assert!(matches!(AppSuite::reference().jobs(0).check(), Err(Error::Jobs(0))));
//! # Ok(()) }
//! ```
//!
//! With the `harness` feature, [`harness`] turns a run into one libtest
//! test per case, so `cargo test -- app/3.3` runs the cases of §3.3.
//!
//! Features: `cli` (default) the command line and its dependencies;
//! `harness` (off) the libtest-mimic harness.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Without the command line, the paths only its subcommands take have no
// caller; the default build (with `cli`) keeps every lint.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

mod api;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[cfg(feature = "harness")]
pub mod harness;

pub(crate) mod app;
pub(crate) mod bounds;
pub(crate) mod capture;
pub(crate) mod case;
pub(crate) mod client;
pub(crate) mod conversation;
pub(crate) mod driver;
#[cfg(feature = "cli")]
pub(crate) mod dump_cmd;
pub(crate) mod expectations;
pub(crate) mod explore;
#[cfg(feature = "cli")]
pub(crate) mod load;
#[cfg(feature = "cli")]
pub(crate) mod output;
pub(crate) mod preflight;
pub(crate) mod progress;
#[cfg(feature = "cli")]
pub(crate) mod proxy;
pub mod report;
pub(crate) mod requirements;
pub(crate) mod schedule;
pub(crate) mod server;
mod span;
pub(crate) mod spawn;
pub(crate) mod stdio;
pub(crate) mod suggest;
pub(crate) mod suites;
pub(crate) mod target;
pub(crate) mod transcript;

pub use api::{
    AppSuite, Error, Explore, ExploreFinding, ExploreReport, ServerSuite, MAX_JOBS, MAX_REPEAT,
    MAX_TIMEOUT,
};
pub use case::{CaseInfo, CaseResult, Outcome, Suite, Verdict};
pub use report::{Report, Summary};

/// Internals the crate's own integration tests reach into (self-checks
/// with injected faults, the wire client, the requirements table). Not
/// part of the API: no semver promise, hidden from the docs.
#[doc(hidden)]
pub mod __private {
    pub mod app {
        pub use crate::app::*;
        pub mod reference {
            pub use crate::app::reference::*;
        }
    }
    pub mod capture {
        pub use crate::capture::*;
        pub mod file {
            pub use crate::capture::file::*;
        }
    }
    pub mod case {
        pub use crate::case::*;
    }
    pub mod client {
        pub use crate::client::*;
    }
    pub mod driver {
        pub use crate::driver::*;
    }
    #[cfg(feature = "cli")]
    pub mod explore {
        pub mod server {
            pub use crate::explore::server::*;
        }
    }
    pub mod report {
        pub use crate::report::*;
    }
    pub mod requirements {
        pub use crate::requirements::*;
        pub mod generate {
            pub use crate::requirements::generate::*;
        }
    }
    pub mod server {
        pub use crate::server::*;
    }
    pub mod target {
        pub use crate::target::*;
    }
}
