//! Snapshots of wire bytes through the dump (§3.3, §4, §5, appendix B):
//! every record type, the typical message flows of appendix B written by
//! the two state machines, and malformed streams.
//!
//! Each snapshot shows the bytes first, one record per line split as
//! `header | content | padding` so that a reviewer can check them against
//! the layout of §3.3 by eye, then the dump. Update with
//! `INSTA_UPDATE=always cargo test -p fcgi-proto --test snapshots_wire`
//! (or `cargo insta review`), and review the diff like a wire diff.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::num::NonZeroU16;
use fcgi_proto::stream::StreamType;
use std::fmt::Write as _;

#[path = "common/dump_check.rs"]
mod dump_check;
#[path = "common/repo.rs"]
mod repo;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{Application, ApplicationEvent, RequestId, WebServer, WebServerEvent};
use fcgi_proto::dump::{self, dump};
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::management::{self, Values};
use fcgi_proto::name_value::{encode_pair_with, LengthForm};
use fcgi_proto::record::{records, ParseOptions, HEADER_LEN};
use fcgi_proto::role::Role;
use fcgi_proto::RecordType;

/// Hex bytes, space separated, `-` for none; after `max` bytes, a count of the rest.
fn hex(bytes: &[u8], max: usize) -> String {
    if bytes.is_empty() {
        return "-".to_string();
    }
    let mut s = String::new();
    for b in bytes.iter().take(max) {
        if !s.is_empty() {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    if bytes.len() > max {
        let _ = write!(s, " ... +{} bytes", bytes.len() - max);
    }
    s
}

/// The bytes as `offset  header | content | padding`, one record a line,
/// then whatever is left that does not frame.
fn wire(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut end = 0usize;
    for r in records(bytes) {
        let Ok(r) = r else { break };
        let _ = writeln!(
            out,
            "{:>6}  {} | {} | {}",
            r.offset,
            hex(&bytes[r.offset as usize..r.offset as usize + HEADER_LEN], 8),
            hex(r.content, 24),
            hex(r.padding, 8)
        );
        end = r.offset as usize + r.header.record_len();
    }
    if end < bytes.len() {
        let _ = writeln!(out, "{end:>6}  unframed: {}", hex(&bytes[end..], 24));
    }
    out
}

/// The snapshot text: the bytes, then the dump. Every snapshot input is
/// also checked to dump alike whole, streamed in chunks, and as JSON.
fn show(bytes: &[u8]) -> String {
    dump_check::forms_agree(bytes, ParseOptions::default());
    format!(
        "bytes ({} in all; header | content | padding):\n{}dump:\n{}",
        bytes.len(),
        wire(bytes),
        dump::render(bytes)
    )
}

/// Snapshot of a stream that must dump cleanly.
fn clean(name: &str, bytes: &[u8]) {
    let d = dump(bytes);
    assert!(d.is_clean(), "{name}: {:?}\n{d}", d.first_error());
    insta::assert_snapshot!(name, show(bytes));
}

/// Snapshot of a stream that must not dump cleanly.
fn malformed(name: &str, bytes: &[u8]) {
    let d = dump(bytes);
    assert!(!d.is_clean(), "{name} dumps cleanly:\n{d}");
    insta::assert_snapshot!(name, show(bytes));
}

fn enc() -> Encoder {
    Encoder::default()
}

// ---------------------------------------------------------------- record types

#[test]
fn record_begin_request() {
    let mut w = Vec::new();
    enc()
        .begin_request(1, Role::Responder, true, &mut w)
        .unwrap();
    enc()
        .begin_request(2, Role::Authorizer, false, &mut w)
        .unwrap();
    enc().begin_request(3, Role::Filter, false, &mut w).unwrap();
    enc()
        .begin_request(0x1234, Role::Unknown(7), true, &mut w)
        .unwrap();
    // Flags other than KEEP_CONN are shown as the whole byte.
    enc()
        .record(
            RecordType::BeginRequest,
            5,
            &[0, 1, 0xff, 0, 0, 0, 0, 0],
            &mut w,
        )
        .unwrap();
    clean("record_begin_request", &w);
}

#[test]
fn record_abort_request() {
    let mut w = Vec::new();
    enc().abort_request(1, &mut w).unwrap();
    enc().abort_request(65535, &mut w).unwrap();
    clean("record_abort_request", &w);
}

#[test]
fn record_end_request() {
    let mut w = Vec::new();
    enc()
        .end_request(1, 0, ProtocolStatus::RequestComplete, &mut w)
        .unwrap();
    enc()
        .end_request(2, 938, ProtocolStatus::RequestComplete, &mut w)
        .unwrap();
    enc()
        .end_request(3, 0, ProtocolStatus::CantMpxConn, &mut w)
        .unwrap();
    enc()
        .end_request(4, 0, ProtocolStatus::Overloaded, &mut w)
        .unwrap();
    enc()
        .end_request(5, 0, ProtocolStatus::UnknownRole, &mut w)
        .unwrap();
    enc()
        .end_request(6, u32::MAX, ProtocolStatus::Unknown(9), &mut w)
        .unwrap();
    clean("record_end_request", &w);
}

#[test]
fn record_params() {
    let mut w = Vec::new();
    enc()
        .params(
            1,
            [
                (&b"SCRIPT_NAME"[..], &b"/index.php"[..]),
                (&b"QUERY_STRING"[..], &b""[..]),
                (&b"HTTP_X_BYTES"[..], &b"a\"b\\c\r\n\t\x00\xff"[..]),
            ],
            &mut w,
        )
        .unwrap();
    enc().end_stream(StreamType::Params, 1, &mut w).unwrap();
    clean("record_params", &w);
}

#[test]
fn record_params_long_forms() {
    // A 4-byte length for a short name (legal, §3.4) and a value of 200
    // bytes (4-byte form, cut in the dump after 96).
    let mut block = Vec::new();
    encode_pair_with(
        b"SHORT",
        b"v",
        LengthForm::Long,
        LengthForm::Short,
        &mut block,
    )
    .unwrap();
    encode_pair_with(
        b"LONG",
        &[b'x'; 200],
        LengthForm::Short,
        LengthForm::Long,
        &mut block,
    )
    .unwrap();
    encode_pair_with(
        &[b'N'; 130],
        b"",
        LengthForm::Long,
        LengthForm::Short,
        &mut block,
    )
    .unwrap();
    let mut w = Vec::new();
    enc().stream(StreamType::Params, 1, &block, &mut w).unwrap();
    enc().end_stream(StreamType::Params, 1, &mut w).unwrap();
    clean("record_params_long_forms", &w);
}

#[test]
fn record_params_split_across_records() {
    // Pairs cut mid-name and mid-length: the records show previews and the
    // end record shows the stream's pairs.
    let split = Encoder::default().with_max_record_content(NonZeroU16::new(7).unwrap());
    let mut w = Vec::new();
    split
        .params(
            1,
            [
                (&b"SERVER_PORT"[..], &b"80"[..]),
                (&b"SERVER_ADDR"[..], &b"199.170.183.42"[..]),
            ],
            &mut w,
        )
        .unwrap();
    split.end_stream(StreamType::Params, 1, &mut w).unwrap();
    clean("record_params_split_across_records", &w);
}

#[test]
fn record_streams() {
    let mut w = Vec::new();
    enc()
        .stream(StreamType::Stdin, 1, b"quantity=100&item=3047936", &mut w)
        .unwrap();
    enc().end_stream(StreamType::Stdin, 1, &mut w).unwrap();
    enc()
        .stream(
            StreamType::Data,
            1,
            &[0, 1, 2, 0x7f, 0x80, 0xfe, 0xff],
            &mut w,
        )
        .unwrap();
    enc().end_stream(StreamType::Data, 1, &mut w).unwrap();
    enc()
        .stream(
            StreamType::Stdout,
            1,
            b"Status: 200 OK\r\nContent-Type: text/html; charset=\"utf-8\"\r\n\r\n<p>hello</p>\n",
            &mut w,
        )
        .unwrap();
    enc().end_stream(StreamType::Stdout, 1, &mut w).unwrap();
    enc()
        .stream(StreamType::Stderr, 1, b"warning: \\ and \t\n", &mut w)
        .unwrap();
    enc().end_stream(StreamType::Stderr, 1, &mut w).unwrap();
    clean("record_streams", &w);
}

#[test]
fn record_stream_longer_than_one_record() {
    // 70000 bytes: 65535 in the first record, the rest in the second.
    let data: Vec<u8> = (0..70000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut w = Vec::new();
    enc().stream(StreamType::Stdout, 1, &data, &mut w).unwrap();
    enc().end_stream(StreamType::Stdout, 1, &mut w).unwrap();
    clean("record_stream_longer_than_one_record", &w);
}

#[test]
fn record_padding_policies() {
    let mut w = Vec::new();
    for pad in [
        Padding::None,
        Padding::Align8,
        Padding::Fixed(3),
        Padding::Fixed(255),
    ] {
        Encoder::default()
            .with_padding(pad)
            .stream(StreamType::Stdout, 1, b"abc", &mut w)
            .unwrap();
    }
    clean("record_padding_policies", &w);
}

#[test]
fn record_management() {
    let mut w = Vec::new();
    enc()
        .get_values(management::KNOWN_VARIABLES.map(str::as_bytes), &mut w)
        .unwrap();
    let values = Values {
        max_conns: Some(10),
        max_reqs: Some(50),
        mpxs_conns: Some(false),
    };
    let query = management::query(management::KNOWN_VARIABLES.map(str::as_bytes)).unwrap();
    let answer = values.answer(&query).unwrap();
    enc()
        .record(RecordType::GetValuesResult, 0, &answer, &mut w)
        .unwrap();
    enc().record(RecordType::GetValues, 0, &[], &mut w).unwrap();
    enc().unknown_type(12, &mut w).unwrap();
    enc().unknown_type(255, &mut w).unwrap();
    clean("record_management", &w);
}

#[test]
fn record_unknown_types() {
    let mut w = Vec::new();
    enc()
        .record(RecordType::Unknown(12), 0, b"mgmt?", &mut w)
        .unwrap();
    enc()
        .record(RecordType::Unknown(0), 1, b"", &mut w)
        .unwrap();
    enc()
        .record(
            RecordType::Unknown(255),
            2,
            &[0xde, 0xad, 0xbe, 0xef],
            &mut w,
        )
        .unwrap();
    clean("record_unknown_types", &w);
}

// ---------------------------------------------------------------- flows (appendix B)

fn pv(data: &[u8]) -> String {
    dump::preview(data, dump::PREVIEW_BYTES)
}

/// An application-side event in one line, byte strings escaped as in the dump.
fn app_event(ev: &ApplicationEvent<'_>) -> String {
    use ApplicationEvent as E;
    match ev {
        E::GetValues { query } => format!("GET_VALUES query={}", pv(query)),
        E::UnknownType {
            record_type,
            request_id,
        } => format!("unknown type {record_type} (id {request_id})"),
        E::BeginRequest {
            request_id,
            role,
            keep_conn,
        } => format!(
            "BEGIN_REQUEST id={request_id} role={} keep_conn={keep_conn}",
            role.name()
        ),
        // Fragments are not logged: the end shows the whole block.
        E::Params { .. } => String::new(),
        E::ParamsEnd { request_id, block } => {
            let names: Vec<String> = fcgi_proto::name_value::pairs(block)
                .map(|p| {
                    let (n, v) = p.unwrap();
                    format!("{}={}", String::from_utf8_lossy(n), pv(v))
                })
                .collect();
            format!("PARAMS id={request_id} ended: {}", names.join(" "))
        }
        E::Stdin { request_id, data } => format!("STDIN id={request_id} {}", pv(data)),
        E::StdinEnd { request_id } => format!("STDIN id={request_id} ended"),
        E::Data { request_id, data } => format!("DATA id={request_id} {}", pv(data)),
        E::DataEnd { request_id } => format!("DATA id={request_id} ended"),
        E::AbortRequest { request_id } => format!("ABORT_REQUEST id={request_id}"),
        E::Ignored {
            record_type,
            request_id,
        } => format!("ignored {} id={request_id}", record_type.name()),
    }
}

/// A web-server-side event in one line.
fn server_event(ev: &WebServerEvent<'_>) -> String {
    use WebServerEvent as E;
    match ev {
        E::GetValuesResult { block } => format!("GET_VALUES_RESULT {}", pv(block)),
        E::UnknownType(b) => format!("UNKNOWN_TYPE type={}", b.record_type),
        E::UnknownRecord {
            record_type,
            request_id,
            content,
        } => format!("unknown record {record_type} id={request_id} {}", pv(content)),
        E::Stdout { request_id, data } => format!("STDOUT id={request_id} {}", pv(data)),
        E::StdoutEnd { request_id } => format!("STDOUT id={request_id} ended"),
        E::Stderr { request_id, data } => format!("STDERR id={request_id} {}", pv(data)),
        E::StderrEnd { request_id } => format!("STDERR id={request_id} ended"),
        E::EndRequest {
            request_id,
            body,
            stdout_ended,
            stderr_ended,
            keep_conn,
        } => format!(
            "END_REQUEST id={request_id} app_status={} protocol_status={} stdout_ended={stdout_ended} stderr_ended={stderr_ended} keep_conn={keep_conn}",
            body.app_status,
            body.protocol_status.name()
        ),
    }
}

/// Both directions of one connection, each side driven by its state
/// machine; every record one side writes is fed to the other at once and
/// must be accepted.
struct Conversation {
    server: WebServer,
    app: Application,
    to_app: Vec<u8>,
    to_server: Vec<u8>,
    seen_by_app: usize,
    seen_by_server: usize,
    /// What each side heard, as `Debug` of its events.
    log: Vec<String>,
}

impl Conversation {
    fn new() -> Self {
        Conversation {
            server: WebServer::default(),
            app: Application::default(),
            to_app: Vec::new(),
            to_server: Vec::new(),
            seen_by_app: 0,
            seen_by_server: 0,
            log: Vec::new(),
        }
    }

    /// The web server writes; the application reads what is new.
    fn server(&mut self, f: impl FnOnce(&mut WebServer, &mut Vec<u8>)) {
        f(&mut self.server, &mut self.to_app);
        for r in records(&self.to_app).skip(self.seen_by_app) {
            let r = r.unwrap();
            self.seen_by_app += 1;
            let ev = self
                .app
                .handle(&r)
                .unwrap_or_else(|e| panic!("application refused {r:?}: {e}"));
            if !matches!(ev, ApplicationEvent::Params { .. }) {
                self.log.push(format!("app hears {}", app_event(&ev)));
            }
        }
    }

    /// The application writes; the web server reads what is new.
    fn app(&mut self, f: impl FnOnce(&mut Application, &mut Vec<u8>)) {
        f(&mut self.app, &mut self.to_server);
        for r in records(&self.to_server).skip(self.seen_by_server) {
            let r = r.unwrap();
            self.seen_by_server += 1;
            let ev = self
                .server
                .handle(&r)
                .unwrap_or_else(|e| panic!("web server refused {r:?}: {e}"));
            self.log.push(format!("server hears {}", server_event(&ev)));
        }
    }

    fn snapshot(&self, name: &str) {
        for (dir, bytes) in [("to_app", &self.to_app), ("to_server", &self.to_server)] {
            assert!(dump(bytes).is_clean(), "{name} {dir}");
        }
        let text = format!(
            "web server -> application\n{}\napplication -> web server\n{}\nevents:\n{}\n",
            show(&self.to_app),
            show(&self.to_server),
            self.log.join("\n")
        );
        insta::assert_snapshot!(name, text);
    }
}

fn rid(id: u16) -> RequestId {
    RequestId::new(id).unwrap()
}

const PARAMS: [(&[u8], &[u8]); 2] = [(b"SERVER_PORT", b"80"), (b"SERVER_ADDR", b"199.170.183.42")];

#[test]
fn flow_responder_with_params_and_stdin() {
    let mut c = Conversation::new();
    c.server(|s, o| {
        s.begin_request(rid(1), Role::Responder, false, o).unwrap();
        s.params(rid(1), PARAMS, o).unwrap();
        s.end_stream(StreamType::Params, rid(1), o).unwrap();
        s.stream(StreamType::Stdin, rid(1), b"quantity=100&item=3047936", o)
            .unwrap();
        s.end_stream(StreamType::Stdin, rid(1), o).unwrap();
    });
    c.app(|a, o| {
        a.stream(
            StreamType::Stdout,
            rid(1),
            b"Content-type: text/html\r\n\r\n<html>\n<head> ... ",
            o,
        )
        .unwrap();
        a.end_stream(StreamType::Stdout, rid(1), o).unwrap();
        assert!(a
            .end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)
            .unwrap());
        assert!(a.should_close());
    });
    c.snapshot("flow_responder_with_params_and_stdin");
}

#[test]
fn flow_responder_keep_conn() {
    // Two requests one after the other on one connection, reusing id 1.
    let mut c = Conversation::new();
    for (n, body) in [(1, &b"first"[..]), (2, &b"second"[..])] {
        c.server(|s, o| {
            s.begin_request(rid(1), Role::Responder, true, o).unwrap();
            s.params(
                rid(1),
                [(&b"REQUEST_URI"[..], format!("/{n}").as_bytes())],
                o,
            )
            .unwrap();
            s.end_stream(StreamType::Params, rid(1), o).unwrap();
            s.end_stream(StreamType::Stdin, rid(1), o).unwrap();
        });
        c.app(|a, o| {
            a.stream(
                StreamType::Stdout,
                rid(1),
                b"Content-type: text/plain\r\n\r\n",
                o,
            )
            .unwrap();
            a.stream(StreamType::Stdout, rid(1), body, o).unwrap();
            a.end_stream(StreamType::Stdout, rid(1), o).unwrap();
            assert!(!a
                .end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)
                .unwrap());
            assert!(!a.should_close());
        });
    }
    c.snapshot("flow_responder_keep_conn");
}

#[test]
fn flow_filter_with_data() {
    let mut c = Conversation::new();
    c.server(|s, o| {
        s.begin_request(rid(1), Role::Filter, false, o).unwrap();
        s.params(
            rid(1),
            [
                (&b"FCGI_DATA_LAST_MOD"[..], &b"832723200"[..]),
                (&b"FCGI_DATA_LENGTH"[..], &b"5"[..]),
            ],
            o,
        )
        .unwrap();
        s.end_stream(StreamType::Params, rid(1), o).unwrap();
        s.end_stream(StreamType::Stdin, rid(1), o).unwrap();
        s.stream(StreamType::Data, rid(1), b"hello", o).unwrap();
        s.end_stream(StreamType::Data, rid(1), o).unwrap();
    });
    c.app(|a, o| {
        a.stream(
            StreamType::Stdout,
            rid(1),
            b"Content-type: text/plain\r\n\r\n",
            o,
        )
        .unwrap();
        a.stream(
            StreamType::Stderr,
            rid(1),
            b"config error: missing SI_UID\n",
            o,
        )
        .unwrap();
        a.stream(StreamType::Stdout, rid(1), b"HELLO", o).unwrap();
        a.end_stream(StreamType::Stdout, rid(1), o).unwrap();
        a.end_stream(StreamType::Stderr, rid(1), o).unwrap();
        a.end_request(rid(1), 938, ProtocolStatus::RequestComplete, o)
            .unwrap();
    });
    c.snapshot("flow_filter_with_data");
}

#[test]
fn flow_aborted_request() {
    let mut c = Conversation::new();
    c.server(|s, o| {
        s.begin_request(rid(1), Role::Responder, true, o).unwrap();
        s.params(rid(1), PARAMS, o).unwrap();
        s.end_stream(StreamType::Params, rid(1), o).unwrap();
        s.stream(StreamType::Stdin, rid(1), b"partial bo", o)
            .unwrap();
        // The HTTP client went away.
        s.abort_request(rid(1), o).unwrap();
    });
    assert!(c.app.is_aborted(rid(1)));
    c.app(|a, o| {
        a.end_stream(StreamType::Stdout, rid(1), o).unwrap();
        a.end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)
            .unwrap();
    });
    assert!(!c.server.is_active(rid(1)));
    c.snapshot("flow_aborted_request");
}

#[test]
fn flow_multiplexed_pair() {
    // Appendix B, flow 4: two requests, the first finishing last.
    let mut c = Conversation::new();
    c.server(|s, o| {
        s.begin_request(rid(1), Role::Responder, true, o).unwrap();
        s.params(rid(1), PARAMS, o).unwrap();
        s.end_stream(StreamType::Params, rid(1), o).unwrap();
        s.begin_request(rid(2), Role::Responder, true, o).unwrap();
        s.params(rid(2), PARAMS, o).unwrap();
        s.end_stream(StreamType::Stdin, rid(1), o).unwrap();
    });
    c.app(|a, o| {
        a.stream(
            StreamType::Stdout,
            rid(1),
            b"Content-type: text/html\r\n\r\n",
            o,
        )
        .unwrap()
    });
    c.server(|s, o| {
        s.end_stream(StreamType::Params, rid(2), o).unwrap();
        s.end_stream(StreamType::Stdin, rid(2), o).unwrap();
    });
    c.app(|a, o| {
        a.stream(
            StreamType::Stdout,
            rid(2),
            b"Content-type: text/html\r\n\r\n<html>\n<head> ... ",
            o,
        )
        .unwrap();
        a.end_stream(StreamType::Stdout, rid(2), o).unwrap();
        a.end_request(rid(2), 0, ProtocolStatus::RequestComplete, o)
            .unwrap();
        a.stream(StreamType::Stdout, rid(1), b"<html>\n<head> ... ", o)
            .unwrap();
        a.end_stream(StreamType::Stdout, rid(1), o).unwrap();
        a.end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)
            .unwrap();
    });
    assert_eq!(c.server.active().count(), 0);
    c.snapshot("flow_multiplexed_pair");
}

#[test]
fn flow_get_values_exchange() {
    let mut c = Conversation::new();
    c.server(|s, o| {
        s.get_values(
            [
                management::MAX_CONNS.as_bytes(),
                management::MAX_REQS.as_bytes(),
                management::MPXS_CONNS.as_bytes(),
                b"X_NOT_A_VARIABLE",
            ],
            o,
        )
        .unwrap();
    });
    let query = records(&c.to_app).next().unwrap().unwrap().content.to_vec();
    c.app(|a, o| {
        let values = Values {
            max_conns: Some(1),
            max_reqs: Some(1),
            mpxs_conns: Some(false),
        };
        a.get_values_result(&values, &query, o).unwrap();
    });
    c.snapshot("flow_get_values_exchange");
}

#[test]
fn flow_unknown_type_answered() {
    let mut c = Conversation::new();
    c.server(|_, o| enc().record(RecordType::Unknown(12), 0, b"?", o).unwrap());
    assert_eq!(c.log.last().unwrap(), "app hears unknown type 12 (id 0)");
    c.app(|a, o| a.unknown_type(12, o).unwrap());
    c.snapshot("flow_unknown_type_answered");
}

#[test]
fn flow_refusals() {
    // The application refuses a second concurrent request and an unknown role.
    let mut c = Conversation::new();
    c.server(|s, o| {
        s.begin_request(rid(1), Role::Responder, true, o).unwrap();
        s.begin_request(rid(2), Role::Responder, true, o).unwrap();
        s.begin_request(rid(3), Role::Unknown(9), true, o).unwrap();
    });
    c.app(|a, o| {
        a.end_request(rid(2), 0, ProtocolStatus::CantMpxConn, o)
            .unwrap();
        a.end_request(rid(3), 0, ProtocolStatus::UnknownRole, o)
            .unwrap();
    });
    c.snapshot("flow_refusals");
}

// ---------------------------------------------------------------- malformed streams

#[test]
fn malformed_wrong_version() {
    let mut w = Vec::new();
    enc().stream(StreamType::Stdout, 1, b"ok", &mut w).unwrap();
    let at = w.len();
    enc().stream(StreamType::Stdout, 1, b"v2", &mut w).unwrap();
    w[at] = 2;
    malformed("malformed_wrong_version", &w);
    // Read leniently, the record frames and the dump shows its version.
    let d = dump::dump_with(&w, ParseOptions::default().with_strict_version(false));
    assert!(d.is_clean());
    insta::assert_snapshot!("malformed_wrong_version_lenient", d.to_string());
}

#[test]
fn malformed_version_zero_first_byte() {
    malformed(
        "malformed_version_zero_first_byte",
        &[0, 1, 0, 1, 0, 8, 0, 0],
    );
}

#[test]
fn malformed_truncated_header() {
    let mut w = Vec::new();
    enc()
        .begin_request(1, Role::Responder, false, &mut w)
        .unwrap();
    w.extend_from_slice(&[1, 4, 0]);
    malformed("malformed_truncated_header", &w);
}

#[test]
fn malformed_truncated_content_and_padding() {
    let mut w = Vec::new();
    enc()
        .stream(
            StreamType::Stdout,
            1,
            b"Content-type: text/plain\r\n\r\nhi",
            &mut w,
        )
        .unwrap();
    let whole = w.len();
    // Cut inside the content.
    malformed("malformed_truncated_content", &w[..20]);
    // Cut inside the padding (the content is whole).
    malformed("malformed_truncated_padding", &w[..whole - 1]);
}

#[test]
fn malformed_bad_body_lengths() {
    let mut w = Vec::new();
    enc()
        .record(RecordType::BeginRequest, 1, &[0, 1, 0, 0, 0, 0, 0], &mut w)
        .unwrap();
    enc()
        .record(RecordType::EndRequest, 1, &[0; 9], &mut w)
        .unwrap();
    enc()
        .record(RecordType::UnknownType, 0, &[12], &mut w)
        .unwrap();
    enc()
        .record(RecordType::BeginRequest, 2, &[], &mut w)
        .unwrap();
    // Decoding goes on after malformed bodies: this one is fine.
    enc().abort_request(1, &mut w).unwrap();
    malformed("malformed_bad_body_lengths", &w);
}

#[test]
fn malformed_truncated_params() {
    // One record: a pair whose value overruns the content.
    let mut w = Vec::new();
    enc()
        .record(
            RecordType::Params,
            1,
            &[4, 10, b'N', b'A', b'M', b'E', b'v'],
            &mut w,
        )
        .unwrap();
    enc().end_stream(StreamType::Params, 1, &mut w).unwrap();
    malformed("malformed_truncated_params_one_record", &w);

    // A block split over records and ended one byte short: the error is on
    // the end record, at the input offset where the cut pair starts.
    let split = Encoder::default().with_max_record_content(NonZeroU16::new(8).unwrap());
    let block = fcgi_proto::name_value::encode_pairs(PARAMS).unwrap();
    let mut w = Vec::new();
    split
        .stream(StreamType::Params, 1, &block[..block.len() - 1], &mut w)
        .unwrap();
    split.end_stream(StreamType::Params, 1, &mut w).unwrap();
    malformed("malformed_truncated_params_split", &w);

    // A block ended inside a 4-byte length.
    let mut w = Vec::new();
    enc()
        .record(RecordType::Params, 1, &[1, 0x80, 0], &mut w)
        .unwrap();
    enc().end_stream(StreamType::Params, 1, &mut w).unwrap();
    malformed("malformed_truncated_params_in_length", &w);

    // GET_VALUES with a pair that overruns.
    let mut w = Vec::new();
    enc()
        .record(
            RecordType::GetValues,
            0,
            &[14, 0, b'F', b'C', b'G', b'I'],
            &mut w,
        )
        .unwrap();
    malformed("malformed_get_values_overrun", &w);
}

#[test]
fn unusual_but_framed() {
    // A nonzero reserved byte, nonzero padding bytes, and a PARAMS stream
    // that never ends: these frame and decode, so the dump is clean; the
    // state machines, not the dump, judge the conversation.
    let mut w = Vec::new();
    enc().stream(StreamType::Stdout, 1, b"abc", &mut w).unwrap();
    w[7] = 0x5a;
    w[12] = 0xff;
    enc()
        .record(RecordType::Params, 1, &[11, 2, b'S', b'E', b'R'], &mut w)
        .unwrap();
    clean("unusual_but_framed", &w);
}

/// The example in docs/dump-format.md is the real output for its bytes.
#[test]
fn dump_format_doc_example_is_real() {
    let mut w = Vec::new();
    enc()
        .begin_request(1, Role::Responder, false, &mut w)
        .unwrap();
    enc()
        .params(1, [(&b"SCRIPT_NAME"[..], &b"/x"[..])], &mut w)
        .unwrap();
    enc().end_stream(StreamType::Params, 1, &mut w).unwrap();
    enc()
        .stream(StreamType::Stdin, 1, b"hello", &mut w)
        .unwrap();
    enc().end_stream(StreamType::Stdin, 1, &mut w).unwrap();
    w.extend_from_slice(&[1, 6, 0]);
    let text = dump::render(&w);
    let Some(doc) = repo::file("docs/dump-format.md") else {
        return;
    };
    assert!(
        doc.contains(&format!("```text\n{text}```")),
        "docs/dump-format.md does not show this dump verbatim:\n{text}"
    );
}

/// The example of *Without offsets* in docs/dump-format.md is what the
/// renderer writes.
#[test]
fn dump_format_doc_example_without_offsets_is_real() {
    let mut w = Vec::new();
    enc()
        .stream(StreamType::Stdout, 1, b"hello", &mut w)
        .unwrap();
    enc().end_stream(StreamType::Stdout, 1, &mut w).unwrap();
    w.extend_from_slice(&[1, 6, 0]);
    let text = dump::render_with(
        &w,
        dump::RenderOptions {
            offsets: false,
            ..Default::default()
        },
    );
    let Some(doc) = repo::file("docs/dump-format.md") else {
        return;
    };
    assert!(
        doc.contains(&format!("```text\n{text}```")),
        "docs/dump-format.md does not show this dump verbatim:\n{text}"
    );
}

/// A PARAMS stream longer than the dump gathers (`MAX_GATHERED_PARAMS`):
/// the records keep their previews, the end record says only that the
/// stream ended, and a legal stream stays clean.
#[test]
fn params_longer_than_the_gather_limit() {
    let value = vec![b'v'; dump::MAX_GATHERED_PARAMS + 100_000];
    let mut w = Vec::new();
    enc()
        .params(
            1,
            [(&b"BIG"[..], &value[..]), (&b"AFTER"[..], &b"1"[..])],
            &mut w,
        )
        .unwrap();
    enc().end_stream(StreamType::Params, 1, &mut w).unwrap();
    let d = dump(&w);
    assert!(d.is_clean(), "{:?}", d.first_error());
    let last = d.entries.last().unwrap();
    assert_eq!(last.detail, dump::Detail::EndOfStream);
    assert!(d
        .entries
        .iter()
        .take(d.entries.len() - 1)
        .all(|e| e.detail == dump::Detail::PartialBlock));
    // A stream under the limit on the same connection is still gathered.
    let split = Encoder::default().with_max_record_content(NonZeroU16::new(4).unwrap());
    split
        .params(2, [(&b"SMALL"[..], &b"ok"[..])], &mut w)
        .unwrap();
    split.end_stream(StreamType::Params, 2, &mut w).unwrap();
    let text = dump::render(&w);
    assert!(
        text.contains("1 pair (whole stream)\n          SMALL = \"ok\"\n"),
        "{}",
        &text[text.len() - 600..]
    );
}
