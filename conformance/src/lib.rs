//! # fcgi-conformance
//!
//! The conformance suite for FastCGI 1.0: `app` tests a FastCGI
//! application (the runner plays the web server), `server` tests a web
//! server (the runner plays the application), `dump` annotates captured
//! bytes, and `list` shows every case with its spec section and
//! requirement IDs. With no target, each suite runs against this crate's
//! bundled reference peer.
#![forbid(unsafe_code)]

pub mod app;
pub mod bounds;
pub mod capture;
pub mod case;
pub mod client;
pub mod conversation;
pub mod driver;
pub mod dump_cmd;
pub mod expectations;
pub mod explore;
pub mod load;
pub mod output;
pub mod preflight;
pub mod progress;
pub mod report;
pub mod requirements;
pub mod schedule;
pub mod server;
mod span;
pub mod spawn;
pub mod stdio;
pub mod suggest;
pub mod suites;
pub mod target;
pub mod transcript;
