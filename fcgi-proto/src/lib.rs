//! # fcgi-proto: the FastCGI 1.0 protocol, sans-IO
//!
//! A reference codec for FastCGI 1.0 (Open Market, 1996) whose modules
//! follow the specification's sections. It never performs I/O, never
//! panics on input, and never allocates on the word of a length field:
//! every length, count and buffer has a limit ([`Limits`]).
//!
//! | Section | Module |
//! |---|---|
//! | §3.3 Records, §8 types and constants | [`record`], [`decoder`], [`encoder`] |
//! | §3.4 Name-value pairs | [`name_value`] |
//! | §4 Management records | [`management`] |
//! | §5 Application records | [`application`], [`stream`] |
//! | §6 Roles | [`role`], [`cgi`] (the CGI/1.1 head a Responder or Authorizer writes) |
//! | Application side of a connection | [`connection::application`] |
//! | Web-server side of a connection | [`connection::web_server`] |
//! | Readable rendering of wire bytes | [`dump`] |
//! | The spec's sections and requirement IDs as types | [`requirement`] |
//!
//! Requirement IDs such as `R-3.4-2` refer to `spec/requirements.toml`;
//! [`requirement`] has each as a constant (`R_3_4_2`) with its section,
//! level and party.
//!
//! ```
//! use fcgi_proto::{encoder::Encoder, record::RecordType, role::Role, dump};
//! let enc = Encoder::default();
//! let mut wire = Vec::new();
//! enc.begin_request(1, Role::Responder, false, &mut wire)?;
//! enc.params(1, [(&b"SCRIPT_NAME"[..], &b"/x"[..])], &mut wire)?;
//! enc.end_stream(RecordType::Params, 1, &mut wire)?;
//! assert!(dump::render(&wire).contains("SCRIPT_NAME = \"/x\""));
//! # Ok::<(), fcgi_proto::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod application;
pub mod cgi;
pub mod connection;
pub mod decoder;
pub mod dump;
pub mod encoder;
pub mod error;
pub mod limits;
pub mod management;
pub mod name_value;
pub mod record;
pub mod requirement;
pub mod role;
pub mod stream;

pub use error::{Error, ErrorKind};
pub use limits::Limits;
pub use record::{OwnedRecord, Record, RecordType, Status};
pub use requirement::{Requirement, Section};

/// The README's examples, compiled and run as doctests so that the crate's
/// front page on crates.io cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
