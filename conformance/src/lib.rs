//! # fcgi-conformance
//!
//! The conformance suite for FastCGI 1.0: `app` tests a FastCGI
//! application (the runner plays the web server), `server` tests a web
//! server (the runner plays the application), `dump` annotates captured
//! bytes, and `list` shows every case with its spec section and
//! requirement IDs. With no target, each suite runs against this crate's
//! bundled reference peer.
#![forbid(unsafe_code)]
// Without the command line, the paths only its subcommands take have no
// caller; the default build (with `cli`) keeps every lint.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;

pub(crate) mod app;
pub(crate) mod bounds;
pub(crate) mod capture;
pub(crate) mod case;
pub(crate) mod client;
#[cfg(feature = "cli")]
pub(crate) mod conversation;
pub(crate) mod driver;
#[cfg(feature = "cli")]
pub(crate) mod dump_cmd;
pub(crate) mod expectations;
#[cfg(feature = "cli")]
pub(crate) mod explore;
#[cfg(feature = "cli")]
pub(crate) mod load;
#[cfg(feature = "cli")]
pub(crate) mod output;
#[cfg(feature = "cli")]
pub(crate) mod preflight;
pub(crate) mod progress;
pub(crate) mod report;
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
