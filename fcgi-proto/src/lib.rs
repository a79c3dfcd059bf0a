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
//! # Decode incrementally
//!
//! Bytes arrive from a socket in any pieces; the [`decoder::Decoder`] gives
//! back whole records as they complete (§3.3), never more than one record's
//! worth buffered, and a malformed one as an [`Error`] with its byte offset.
//! Writers refuse a call the rules forbid with a [`UsageError`], a type of
//! its own: it is the caller's mistake, in no input, so it has no offset.
//!
//! ```
//! use fcgi_proto::{decoder::Decoder, encoder::Encoder, role::Role, RecordType};
//! let mut wire = Vec::new();
//! Encoder::default().begin_request(1, Role::Responder, true, &mut wire)?;
//! let mut decoder = Decoder::new();
//! let mut seen = Vec::new();
//! for piece in wire.chunks(3) {
//!     decoder.push(piece)?;
//!     while let Some(record) = decoder.next_record()? {
//!         seen.push((record.record_type(), record.request_id()));
//!     }
//! }
//! decoder.finish()?; // nothing left half-received
//! assert_eq!(seen, [(RecordType::BeginRequest, 1)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Snapshot the bytes your code writes
//!
//! [`dump::render`] turns wire bytes into one annotated line per record,
//! stable enough for [insta](https://insta.rs) snapshots (see
//! `docs/snapshot-testing.md`); a changed byte shows as a changed line.
//!
//! ```
//! use fcgi_proto::{application::ProtocolStatus, dump, encoder::Encoder, stream::StreamType};
//! let enc = Encoder::default();
//! let mut wire = Vec::new();
//! enc.stream(StreamType::Stdout, 1, b"Status: 204\r\n\r\n", &mut wire)?;
//! enc.end_stream(StreamType::Stdout, 1, &mut wire)?;
//! enc.end_request(1, 0, ProtocolStatus::RequestComplete, &mut wire)?;
//! insta::assert_snapshot!(dump::render(&wire), @r#"
//!      0  STDOUT            id=1 len=15 pad=1  "Status: 204\r\n\r\n"
//!     24  STDOUT            id=1 len=0 pad=0  (end of stream)
//!     32  END_REQUEST       id=1 len=8 pad=0  app_status=0 protocol_status=REQUEST_COMPLETE(0)
//! "#);
//! # Ok::<(), fcgi_proto::UsageError>(())
//! ```
//!
//! # Drive a party's state machine
//!
//! [`connection::Application`] and [`connection::WebServer`] keep the
//! rules of the conversation: each record the peer sent gives one event or
//! one error naming the section and requirement it breaks, and the writers
//! refuse what the party may not send.
//!
//! ```
//! use fcgi_proto::application::ProtocolStatus;
//! use fcgi_proto::connection::{Application, ApplicationEvent, RequestId, WebServer};
//! use fcgi_proto::{record::records, requirement::R_5_5_4, role::Role, stream::StreamType};
//!
//! // The web server's side writes a request...
//! let mut server = WebServer::default();
//! let id = server.free_id().ok_or("no free id")?;
//! let mut to_app = Vec::new();
//! server.begin_request(id, Role::Responder, false, &mut to_app)?;
//! server.params(id, [(&b"SCRIPT_NAME"[..], &b"/x"[..])], &mut to_app)?;
//! server.end_stream(StreamType::Params, id, &mut to_app)?;
//! server.end_stream(StreamType::Stdin, id, &mut to_app)?;
//!
//! // ...the application's side reads it, one event per record...
//! let mut app = Application::default();
//! for record in records(&to_app) {
//!     if let ApplicationEvent::ParamsEnd { block, .. } = app.handle(&record?)? {
//!         assert!(fcgi_proto::name_value::find(&block, b"SCRIPT_NAME").is_some());
//!     }
//! }
//! // ...and answers.
//! let mut to_server = Vec::new();
//! app.stream(StreamType::Stdout, id, b"Status: 204\r\n\r\n", &mut to_server)?;
//! app.end_stream(StreamType::Stdout, id, &mut to_server)?;
//! let must_close = app.end_request(id, 0, ProtocolStatus::RequestComplete, &mut to_server)?;
//! assert!(must_close, "no FCGI_KEEP_CONN: the application closes (R-3.5-1)");
//!
//! // A second END_REQUEST for the same id breaks §5.5, and says so.
//! fcgi_proto::encoder::Encoder::default()
//!     .end_request(id.get(), 0, ProtocolStatus::RequestComplete, &mut to_server)?;
//! let mut errors = Vec::new();
//! for record in records(&to_server) {
//!     if let Err(e) = server.handle(&record?) {
//!         errors.push(e);
//!     }
//! }
//! assert_eq!(errors.len(), 1);
//! assert_eq!(errors[0].requirement(), Some(R_5_5_4));
//! assert_eq!(RequestId::new(0), None, "id 0 is for management records (R-3.3-5)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
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

pub use error::{Error, ErrorClass, ErrorKind, UsageError, UsageKind};
pub use limits::Limits;
pub use record::{OwnedRecord, Record, RecordType, Status};
pub use requirement::{Requirement, Section};

/// The README's examples, compiled and run as doctests so that the crate's
/// front page on crates.io cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
