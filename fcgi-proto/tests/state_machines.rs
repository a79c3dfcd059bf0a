//! State-machine tests for both parties of a connection (§3.3, §4, §5, §6,
//! appendix A): every violation the codec reports, from the side that sees
//! it, and legal flows (multiplexed requests, aborts, keep-conn) run through
//! both machines at once. Cases already pinned by the unit tests in
//! src/app.rs and src/server.rs are not repeated here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{
    Application, ApplicationConfig, ApplicationEvent, InactivePolicy, RequestId, WebServer,
    WebServerConfig,
};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::error::{Direction, Limit, PairPart};
use fcgi_proto::management::Values;
use fcgi_proto::record::records;
use fcgi_proto::requirement::{
    R_3_3_5, R_4_1_7, R_4_2_2, R_5_2_1, R_5_3_1, R_5_5_4, R_6_2_4, R_A_1, R_A_3,
};
use fcgi_proto::role::Role;
use fcgi_proto::stream::StreamType;
use fcgi_proto::{Error, ErrorKind, Limits, RecordType, UsageError, UsageKind};
use proptest::prelude::*;

#[path = "common/traceability.rs"]
mod traceability;
use traceability::checks;

// ------------------------------------------------------------------ helpers

fn wire(f: impl FnOnce(&Encoder, &mut Vec<u8>)) -> Vec<u8> {
    let mut w = Vec::new();
    f(&Encoder::default(), &mut w);
    w
}

/// Feeds every record of `bytes` to the application side; each result is
/// the event's `Debug` text or the error.
fn to_app(c: &mut Application, bytes: &[u8]) -> Vec<Result<String, Error>> {
    records(bytes)
        .map(|r| c.handle(&r.unwrap()).map(|e| format!("{e:?}")))
        .collect()
}

fn rid(id: u16) -> RequestId {
    RequestId::new(id).unwrap()
}

fn to_server(c: &mut WebServer, bytes: &[u8]) -> Vec<Result<String, Error>> {
    records(bytes)
        .map(|r| c.handle(&r.unwrap()).map(|e| format!("{e:?}")))
        .collect()
}

/// An application that has seen BEGIN_REQUEST and the end of PARAMS for `ids`.
fn app_with(ids: &[u16], keep_conn: bool) -> Application {
    app_with_config(ids, keep_conn, ApplicationConfig::default())
}

fn app_with_config(ids: &[u16], keep_conn: bool, config: ApplicationConfig) -> Application {
    let mut c = Application::new(config);
    let w = wire(|e, w| {
        for &id in ids {
            e.begin_request(id, Role::Responder, keep_conn, w).unwrap();
            e.end_stream(StreamType::Params, id, w).unwrap();
        }
    });
    assert!(to_app(&mut c, &w).iter().all(Result::is_ok));
    c
}

/// A web server that has begun `ids` and ended their PARAMS and STDIN.
fn server_with(ids: &[u16], config: WebServerConfig) -> WebServer {
    let mut c = WebServer::new(config);
    let mut out = Vec::new();
    for &id in ids {
        c.begin_request(rid(id), Role::Responder, true, &mut out)
            .unwrap();
        c.end_stream(StreamType::Params, rid(id), &mut out).unwrap();
        c.end_stream(StreamType::Stdin, rid(id), &mut out).unwrap();
    }
    c
}

#[track_caller]
fn assert_err(r: &Result<impl std::fmt::Debug, Error>, kind: &ErrorKind, offset: u64) {
    match r {
        Err(e) => {
            assert_eq!(e.kind(), kind);
            assert_eq!(e.offset(), offset, "offset of {e}");
        }
        Ok(v) => panic!("expected {kind:?}, got {v:?}"),
    }
}

// ------------------------------------------------------------------ application side: violations

#[test]
fn app_params_after_params_ended() {
    let mut c = app_with(&[1], true);
    let w = wire(|e, w| {
        e.params(1, [(&b"LATE"[..], &b"1"[..])], w).unwrap();
        e.end_stream(StreamType::Params, 1, w).unwrap();
    });
    let r = to_app(&mut c, &w);
    let kind = ErrorKind::StreamAfterEnd {
        record_type: RecordType::Params,
        request_id: 1,
    };
    assert_err(&r[0], &kind, 0);
    assert_err(&r[1], &kind, 16);
    let e = r[0].as_ref().unwrap_err();
    assert_eq!(
        (e.section().to_string().as_str(), e.requirement()),
        ("§5.2", Some(R_5_2_1))
    );
}

#[test]
fn app_data_and_stdin_after_their_end() {
    let mut c = app_with(&[1], true);
    let w = wire(|e, w| {
        e.end_stream(StreamType::Data, 1, w).unwrap();
        e.stream(StreamType::Data, 1, b"late", w).unwrap();
        e.end_stream(StreamType::Stdin, 1, w).unwrap();
        e.end_stream(StreamType::Stdin, 1, w).unwrap();
    });
    let r = to_app(&mut c, &w);
    assert_eq!(r[0].as_deref().ok(), Some("DataEnd { request_id: 1 }"));
    let data = ErrorKind::StreamAfterEnd {
        record_type: RecordType::Data,
        request_id: 1,
    };
    assert_err(&r[1], &data, 8);
    assert_eq!(r[1].as_ref().unwrap_err().requirement(), Some(R_5_3_1));
    assert!(r[2].is_ok());
    let stdin = ErrorKind::StreamAfterEnd {
        record_type: RecordType::Stdin,
        request_id: 1,
    };
    assert_err(&r[3], &stdin, 32);
}

#[test]
fn app_begin_request_of_wrong_size_does_not_activate() {
    for len in [0usize, 1, 7, 9, 16] {
        let mut c = Application::default();
        let w = wire(|e, w| {
            e.record(RecordType::BeginRequest, 4, &vec![0; len], w)
                .unwrap();
        });
        let r = to_app(&mut c, &w);
        assert_err(
            &r[0],
            &ErrorKind::BadBodyLength {
                record_type: RecordType::BeginRequest,
                actual: len,
            },
            8,
        );
        assert!(!c.is_active(rid(4)), "len {len}");
    }
}

#[test]
fn app_begin_request_with_null_id() {
    let mut c = Application::default();
    let w = wire(|e, w| {
        e.record(RecordType::BeginRequest, 0, &[0, 1, 0, 0, 0, 0, 0, 0], w)
            .unwrap();
    });
    let r = to_app(&mut c, &w);
    assert_err(
        &r[0],
        &ErrorKind::NullRequestId(RecordType::BeginRequest),
        0,
    );
    assert_eq!(r[0].as_ref().unwrap_err().requirement(), Some(R_3_3_5));
}

#[test]
fn app_refuses_every_type_that_travels_to_the_web_server() {
    // STDOUT is covered by the unit tests; the other four here.
    for t in [
        RecordType::Stderr,
        RecordType::EndRequest,
        RecordType::GetValuesResult,
        RecordType::UnknownType,
    ] {
        let id = u16::from(!t.is_management());
        let mut c = app_with(&[1], true);
        let w = wire(|e, w| e.record(t, id, &[0; 8], w).unwrap());
        let r = to_app(&mut c, &w);
        assert_err(
            &r[0],
            &ErrorKind::WrongDirection {
                record_type: t,
                expected: Direction::ToWebServer,
            },
            0,
        );
        assert_eq!(
            r[0].as_ref().unwrap_err().section().to_string(),
            "appendix A"
        );
        assert_eq!(r[0].as_ref().unwrap_err().requirement(), Some(R_A_1));
    }
}

#[test]
fn app_get_values_with_malformed_block_or_too_many_pairs() {
    let mut c = Application::default();
    let w = wire(|e, w| {
        e.record(RecordType::GetValues, 0, &[14, 0, b'F', b'C'], w)
            .unwrap();
    });
    let r = to_app(&mut c, &w);
    assert_err(
        &r[0],
        &ErrorKind::PairOverrun {
            which: PairPart::Name,
            declared: 14,
            available: 2,
        },
        8,
    );
    let mut c = Application::new(ApplicationConfig::default().with_limits(Limits {
        max_pairs: 2,
        ..Limits::default()
    }));
    let w = wire(|e, w| {
        e.get_values([&b"A"[..], b"B", b"C"], w).unwrap();
    });
    let r = to_app(&mut c, &w);
    // Each pair takes 3 bytes: the third starts at content byte 6.
    assert_err(
        &r[0],
        &ErrorKind::LimitExceeded {
            limit: Limit::Pairs,
            max: 2,
        },
        14,
    );
}

#[test]
fn app_reports_unknown_types_and_answers_them() {
    let mut c = Application::default();
    let w = wire(|e, w| {
        e.record(RecordType::Unknown(12), 0, b"", w).unwrap();
        e.record(RecordType::Unknown(200), 5, b"xyz", w).unwrap();
    });
    let r = to_app(&mut c, &w);
    assert_eq!(
        r[0].as_deref().ok(),
        Some("UnknownType { record_type: 12, request_id: 0 }")
    );
    assert_eq!(
        r[1].as_deref().ok(),
        Some("UnknownType { record_type: 200, request_id: 5 }")
    );
    let mut out = Vec::new();
    c.unknown_type(12, &mut out).unwrap();
    assert_eq!(out, [1, 11, 0, 0, 0, 8, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn app_records_for_ended_or_unknown_ids() {
    // After END_REQUEST the id is inactive (R-5.5-4): its late input is
    // ignored (§3.3), or refused under InactivePolicy::Error.
    let late = wire(|e, w| {
        e.stream(StreamType::Stdin, 1, b"late", w).unwrap();
        e.abort_request(1, w).unwrap();
        e.end_stream(StreamType::Params, 9, w).unwrap();
    });
    for policy in [InactivePolicy::Ignore, InactivePolicy::Error] {
        let config = ApplicationConfig::default().with_inactive(policy);
        let mut c = app_with_config(&[1], true, config);
        let mut out = Vec::new();
        c.end_request(rid(1), 0, ProtocolStatus::RequestComplete, &mut out)
            .unwrap();
        let r = to_app(&mut c, &late);
        for (i, (t, id, at)) in [
            (RecordType::Stdin, 1, 0),
            (RecordType::AbortRequest, 1, 16),
            (RecordType::Params, 9, 24),
        ]
        .into_iter()
        .enumerate()
        {
            match policy {
                InactivePolicy::Ignore => assert_eq!(
                    r[i].as_ref().unwrap().clone(),
                    format!("Ignored {{ record_type: {t:?}, request_id: {id} }}")
                ),
                InactivePolicy::Error => assert_err(
                    &r[i],
                    &ErrorKind::InactiveRequestId {
                        record_type: t,
                        request_id: id,
                    },
                    at,
                ),
            }
        }
    }
}

#[test]
fn app_concurrent_request_limit() {
    let config = ApplicationConfig::default().with_limits(Limits {
        max_requests: 2,
        ..Limits::default()
    });
    let mut c = Application::new(config);
    let w = wire(|e, w| {
        for id in 1..=3 {
            e.begin_request(id, Role::Responder, true, w).unwrap();
        }
    });
    let r = to_app(&mut c, &w);
    assert!(r[0].is_ok() && r[1].is_ok());
    assert_err(
        &r[2],
        &ErrorKind::LimitExceeded {
            limit: Limit::ConcurrentRequests,
            max: 2,
        },
        32,
    );
    assert!(!c.is_active(rid(3)));
    // Once a request ends there is room again.
    let mut out = Vec::new();
    c.end_request(rid(1), 0, ProtocolStatus::Overloaded, &mut out)
        .unwrap();
    let again = wire(|e, w| e.begin_request(3, Role::Responder, true, w).unwrap());
    assert!(to_app(&mut c, &again)[0].is_ok());
    assert_eq!(c.active().collect::<Vec<_>>(), vec![rid(2), rid(3)]);
}

#[test]
fn app_params_pair_limit_and_malformed_block() {
    let config = ApplicationConfig::default().with_limits(Limits {
        max_pairs: 1,
        ..Limits::default()
    });
    let mut c = Application::new(config);
    let w = wire(|e, w| {
        e.begin_request(1, Role::Responder, true, w).unwrap();
        e.params(1, [(&b"A"[..], &b"1"[..]), (&b"B"[..], &b"2"[..])], w)
            .unwrap();
        e.end_stream(StreamType::Params, 1, w).unwrap();
    });
    let r = to_app(&mut c, &w);
    assert!(matches!(
        r[2].as_ref().unwrap_err().kind(),
        ErrorKind::LimitExceeded {
            limit: Limit::Pairs,
            max: 1
        }
    ));
    let mut c = Application::default();
    let w = wire(|e, w| {
        e.begin_request(1, Role::Responder, true, w).unwrap();
        e.record(RecordType::Params, 1, &[3, 0x80, 0, 0], w)
            .unwrap();
        e.end_stream(StreamType::Params, 1, w).unwrap();
    });
    let r = to_app(&mut c, &w);
    assert!(
        r[1].as_ref().unwrap().starts_with("Params {"),
        "a fragment is not judged"
    );
    let e = r[2].as_ref().unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::TruncatedLength {
            which: PairPart::Value
        }
    );
    assert_eq!(e.section().to_string(), "§3.4");
}

#[test]
fn app_writing_rules() {
    let mut c = app_with(&[1, 2], true);
    let mut out = Vec::new();
    // The web server's streams are not the application's to write (appendix A).
    for t in [StreamType::Params, StreamType::Stdin, StreamType::Data] {
        let e = c.stream(t, rid(1), b"x", &mut out).unwrap_err();
        assert_eq!(e.kind(), &UsageKind::WrongDirection(t));
        assert_eq!(e.requirement(), Some(R_A_1));
        let e = c.end_stream(t, rid(1), &mut out).unwrap_err();
        assert_eq!(e.kind(), &UsageKind::WrongDirection(t));
    }
    assert!(out.is_empty(), "refused writes leave nothing behind");
    c.stream(StreamType::Stdout, rid(1), b"x", &mut out)
        .unwrap();
    c.end_stream(StreamType::Stdout, rid(1), &mut out).unwrap();
    let e = c
        .stream(StreamType::Stdout, rid(1), b"y", &mut out)
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &UsageKind::StreamEnded {
            stream: StreamType::Stdout,
            request_id: 1
        }
    );
    assert!(c.end_stream(StreamType::Stdout, rid(1), &mut out).is_err());
    c.stream(StreamType::Stderr, rid(1), b"warn", &mut out)
        .unwrap();
    c.end_stream(StreamType::Stderr, rid(1), &mut out).unwrap();
    let e = c
        .end_stream(StreamType::Stderr, rid(1), &mut out)
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &UsageKind::StreamEnded {
            stream: StreamType::Stderr,
            request_id: 1
        }
    );
    c.end_request(rid(1), 0, ProtocolStatus::RequestComplete, &mut out)
        .unwrap();
    // After END_REQUEST nothing more for the id (R-5.5-4).
    let before = out.len();
    for r in [
        c.stream(StreamType::Stdout, rid(1), b"z", &mut out),
        c.stream(StreamType::Stderr, rid(1), b"z", &mut out),
        c.end_stream(StreamType::Stdout, rid(1), &mut out),
    ] {
        assert_eq!(r.unwrap_err().kind(), &UsageKind::RequestNotActive(1));
    }
    assert_eq!(
        c.end_request(rid(1), 0, ProtocolStatus::RequestComplete, &mut out)
            .unwrap_err()
            .requirement(),
        Some(R_5_5_4)
    );
    assert_eq!(out.len(), before, "refused writes leave nothing behind");
    // Request 2 is untouched.
    c.stream(StreamType::Stdout, rid(2), b"ok", &mut out)
        .unwrap();
    // A never-begun id.
    assert_eq!(
        c.stream(StreamType::Stdout, rid(7), b"x", &mut out)
            .unwrap_err()
            .kind(),
        &UsageKind::RequestNotActive(7)
    );
}

// ------------------------------------------------------------------ web-server side: violations

#[test]
fn server_stderr_after_its_end() {
    let mut c = server_with(&[1], WebServerConfig::default());
    let w = wire(|e, w| {
        e.stream(StreamType::Stderr, 1, b"a", w).unwrap();
        e.end_stream(StreamType::Stderr, 1, w).unwrap();
        e.stream(StreamType::Stderr, 1, b"b", w).unwrap();
    });
    let r = to_server(&mut c, &w);
    assert_err(
        &r[2],
        &ErrorKind::StreamAfterEnd {
            record_type: RecordType::Stderr,
            request_id: 1,
        },
        24,
    );
}

#[test]
fn server_refuses_every_type_that_travels_to_the_application() {
    // STDIN is covered by the unit tests; the other five here.
    for (t, content) in [
        (RecordType::BeginRequest, vec![0, 1, 0, 0, 0, 0, 0, 0]),
        (RecordType::AbortRequest, vec![]),
        (RecordType::Params, vec![]),
        (RecordType::Data, b"d".to_vec()),
        (RecordType::GetValues, vec![]),
    ] {
        let id = u16::from(!t.is_management());
        let mut c = server_with(&[1], WebServerConfig::default());
        let w = wire(|e, w| e.record(t, id, &content, w).unwrap());
        let r = to_server(&mut c, &w);
        assert_err(
            &r[0],
            &ErrorKind::WrongDirection {
                record_type: t,
                expected: Direction::ToApplication,
            },
            0,
        );
        assert_eq!(r[0].as_ref().unwrap_err().requirement(), Some(R_A_1));
    }
}

/// A GET_VALUES_RESULT that leaves out some of the names asked for, and
/// names one never asked for, is an answer, not an error: the web server
/// takes missing names as unknown to the application.
#[test]
fn server_get_values_result_may_omit_or_add_names() {
    checks(&[R_4_1_7]);
    for answered in [
        &[][..],
        &[(&b"FCGI_MPXS_CONNS"[..], &b"0"[..])][..],
        &[
            (&b"FCGI_MAX_REQS"[..], &b"1"[..]),
            (&b"X_NOT_ASKED"[..], &b"7"[..]),
        ][..],
    ] {
        let mut c = server_with(&[1], WebServerConfig::default());
        let block = fcgi_proto::name_value::encode_pairs(answered.iter().copied()).unwrap();
        let w = wire(|e, w| e.record(RecordType::GetValuesResult, 0, &block, w).unwrap());
        let r = to_server(&mut c, &w);
        assert_eq!(r.len(), 1);
        assert!(
            r[0].as_ref()
                .is_ok_and(|ev| ev.starts_with("GetValuesResult")),
            "{answered:?}: {:?}",
            r[0]
        );
    }
}

#[test]
fn server_management_records_with_a_request_id() {
    for t in [RecordType::GetValuesResult, RecordType::UnknownType] {
        let mut c = server_with(&[1], WebServerConfig::default());
        let w = wire(|e, w| e.record(t, 1, &[0; 8], w).unwrap());
        let r = to_server(&mut c, &w);
        assert_err(
            &r[0],
            &ErrorKind::ManagementRequestId {
                record_type: t,
                request_id: 1,
            },
            0,
        );
        let e = r[0].as_ref().unwrap_err();
        assert_eq!(
            (e.section().to_string().as_str(), e.requirement()),
            ("appendix A", Some(R_A_3))
        );
    }
}

#[test]
fn server_unknown_type_body_of_wrong_size() {
    let mut c = WebServer::default();
    let w = wire(|e, w| {
        e.record(RecordType::UnknownType, 0, &[12, 0, 0], w)
            .unwrap();
        e.unknown_type(12, w).unwrap();
    });
    let r = to_server(&mut c, &w);
    assert_err(
        &r[0],
        &ErrorKind::BadBodyLength {
            record_type: RecordType::UnknownType,
            actual: 3,
        },
        8,
    );
    assert_eq!(r[0].as_ref().unwrap_err().requirement(), Some(R_4_2_2));
    assert_eq!(
        r[1].as_ref().unwrap(),
        "UnknownType(UnknownTypeBody { record_type: 12 })"
    );
}

#[test]
fn server_end_request_sizes_keep_the_request_active() {
    for len in [0usize, 7, 9] {
        let mut c = server_with(&[1], WebServerConfig::default());
        let w = wire(|e, w| {
            e.record(RecordType::EndRequest, 1, &vec![0; len], w)
                .unwrap()
        });
        assert_err(
            &to_server(&mut c, &w)[0],
            &ErrorKind::BadBodyLength {
                record_type: RecordType::EndRequest,
                actual: len,
            },
            8,
        );
        assert!(c.is_active(rid(1)), "a malformed END_REQUEST ends nothing");
    }
}

#[test]
fn server_null_id_and_output_before_params_on_stderr() {
    let mut c = server_with(&[1], WebServerConfig::default());
    let w = wire(|e, w| e.stream(StreamType::Stdout, 0, b"x", w).unwrap());
    assert_err(
        &to_server(&mut c, &w)[0],
        &ErrorKind::NullRequestId(RecordType::Stdout),
        0,
    );
    let mut c = WebServer::default();
    let mut out = Vec::new();
    c.begin_request(rid(3), Role::Responder, true, &mut out)
        .unwrap();
    let w = wire(|e, w| e.stream(StreamType::Stderr, 3, b"early", w).unwrap());
    let r = to_server(&mut c, &w);
    assert_err(&r[0], &ErrorKind::OutputBeforeParams(3), 0);
    assert_eq!(r[0].as_ref().unwrap_err().requirement(), Some(R_6_2_4));
}

#[test]
fn server_get_values_result_malformed_or_too_many_pairs() {
    let mut c = WebServer::default();
    let w = wire(|e, w| {
        e.record(RecordType::GetValuesResult, 0, &[0x80, 0, 0], w)
            .unwrap();
    });
    assert_err(
        &to_server(&mut c, &w)[0],
        &ErrorKind::TruncatedLength {
            which: PairPart::Name,
        },
        8,
    );
    let mut c = WebServer::new(WebServerConfig::default().with_limits(Limits {
        max_pairs: 1,
        ..Limits::default()
    }));
    let block = Values {
        max_conns: Some(1),
        max_reqs: Some(1),
        mpxs_conns: None,
    }
    .answer(&fcgi_proto::management::query([&b"FCGI_MAX_CONNS"[..], b"FCGI_MAX_REQS"]).unwrap())
    .unwrap();
    let w = wire(|e, w| e.record(RecordType::GetValuesResult, 0, &block, w).unwrap());
    assert!(matches!(
        to_server(&mut c, &w)[0].as_ref().unwrap_err().kind(),
        ErrorKind::LimitExceeded {
            limit: Limit::Pairs,
            max: 1
        }
    ));
}

#[test]
fn server_reports_unknown_record_types() {
    let mut c = WebServer::default();
    let w = wire(|e, w| e.record(RecordType::Unknown(99), 3, b"?", w).unwrap());
    assert_eq!(
        to_server(&mut c, &w)[0].as_ref().unwrap(),
        "UnknownRecord { record_type: 99, request_id: 3, content: [63] }"
    );
}

#[test]
fn server_writing_rules() {
    let mut c = WebServer::new(WebServerConfig::default().with_limits(Limits {
        max_requests: 1,
        ..Limits::default()
    }));
    let mut out = Vec::new();
    c.begin_request(rid(1), Role::Filter, true, &mut out)
        .unwrap();
    // The application's streams are not the web server's to write (appendix A).
    let before = out.len();
    for t in [StreamType::Stdout, StreamType::Stderr] {
        let e = c.stream(t, rid(1), b"x", &mut out).unwrap_err();
        assert_eq!(e.kind(), &UsageKind::WrongDirection(t));
        let e = c.end_stream(t, rid(1), &mut out).unwrap_err();
        assert_eq!(e.to_string(), format!("{} travels from application to web server only (a call the rules forbid; appendix A, R-A-1)", t.record_type().name()));
    }
    assert_eq!(out.len(), before, "refused writes leave nothing behind");
    let e = c
        .begin_request(rid(2), Role::Filter, true, &mut out)
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &UsageKind::LimitReached {
            limit: Limit::ConcurrentRequests,
            max: 1
        }
    );
    c.end_stream(StreamType::Stdin, rid(1), &mut out).unwrap();
    assert_eq!(
        c.stream(StreamType::Stdin, rid(1), b"late", &mut out)
            .unwrap_err()
            .kind(),
        &UsageKind::StreamEnded {
            stream: StreamType::Stdin,
            request_id: 1
        }
    );
    c.end_stream(StreamType::Data, rid(1), &mut out).unwrap();
    assert_eq!(
        c.stream(StreamType::Data, rid(1), b"late", &mut out)
            .unwrap_err()
            .kind(),
        &UsageKind::StreamEnded {
            stream: StreamType::Data,
            request_id: 1
        }
    );
    let before = out.len();
    for r in [
        c.stream(StreamType::Stdin, rid(5), b"x", &mut out),
        c.stream(StreamType::Data, rid(5), b"x", &mut out),
        c.end_stream(StreamType::Params, rid(5), &mut out),
        c.abort_request(rid(5), &mut out),
    ] {
        assert_eq!(r.unwrap_err().kind(), &UsageKind::RequestNotActive(5));
    }
    assert_eq!(out.len(), before);
}

#[test]
fn server_end_request_with_stdout_open() {
    let body = wire(|e, w| {
        e.stream(StreamType::Stdout, 1, b"partial", w).unwrap();
        e.end_request(1, 0, ProtocolStatus::RequestComplete, w)
            .unwrap();
    });
    // Default: reported, not refused.
    let mut c = server_with(&[1], WebServerConfig::default());
    let r = to_server(&mut c, &body);
    assert!(r[1].as_ref().unwrap().contains("stdout_ended: false"));
    // Strict: refused (R-5.3-1), and the request stays active.
    let strict = WebServerConfig::default().with_require_stdout_end(true);
    let mut c = server_with(&[1], strict);
    let r = to_server(&mut c, &body);
    assert_err(
        &r[1],
        &ErrorKind::UnterminatedStream {
            record_type: RecordType::Stdout,
            request_id: 1,
        },
        16,
    );
    assert_eq!(r[1].as_ref().unwrap_err().requirement(), Some(R_5_3_1));
    assert!(c.is_active(rid(1)));
}

#[test]
fn server_reuses_an_id_after_end_request() {
    let mut c = server_with(&[1], WebServerConfig::default());
    let end = wire(|e, w| {
        e.end_stream(StreamType::Stdout, 1, w).unwrap();
        e.end_request(1, 0, ProtocolStatus::RequestComplete, w)
            .unwrap();
    });
    assert!(to_server(&mut c, &end).iter().all(Result::is_ok));
    let mut out = Vec::new();
    c.begin_request(rid(1), Role::Responder, true, &mut out)
        .unwrap();
    c.end_stream(StreamType::Params, rid(1), &mut out).unwrap();
    // The new request under the old id is a fresh one: its STDOUT is open again.
    assert!(to_server(&mut c, &end).iter().all(Result::is_ok));
}

// ------------------------------------------------------------------ both sides together

/// Both parties of one connection: what one writes is fed to the other.
struct Pair {
    server: WebServer,
    app: Application,
    to_app: Vec<u8>,
    to_server: Vec<u8>,
    seen_app: usize,
    seen_server: usize,
}

impl Pair {
    fn new(server: WebServerConfig, app: ApplicationConfig) -> Self {
        Pair {
            server: WebServer::new(server),
            app: Application::new(app),
            to_app: Vec::new(),
            to_server: Vec::new(),
            seen_app: 0,
            seen_server: 0,
        }
    }

    fn server(
        &mut self,
        f: impl FnOnce(&mut WebServer, &mut Vec<u8>) -> Result<(), UsageError>,
    ) -> Result<Vec<String>, String> {
        f(&mut self.server, &mut self.to_app).map_err(|e| e.to_string())?;
        let mut evs = Vec::new();
        for r in records(&self.to_app).skip(self.seen_app) {
            let r = r.unwrap();
            self.seen_app += 1;
            let ev = self.app.handle(&r).map_err(|e| e.to_string())?;
            // PARAMS fragments are left out: the end carries the block.
            if !matches!(ev, ApplicationEvent::Params { .. }) {
                evs.push(format!("{ev:?}"));
            }
        }
        Ok(evs)
    }

    fn app(
        &mut self,
        f: impl FnOnce(&mut Application, &mut Vec<u8>) -> Result<(), UsageError>,
    ) -> Result<Vec<String>, String> {
        f(&mut self.app, &mut self.to_server).map_err(|e| e.to_string())?;
        let mut evs = Vec::new();
        for r in records(&self.to_server).skip(self.seen_server) {
            let r = r.unwrap();
            self.seen_server += 1;
            let ev = self.server.handle(&r).map_err(|e| e.to_string())?;
            evs.push(format!("{ev:?}"));
        }
        Ok(evs)
    }
}

fn pair() -> Pair {
    Pair::new(WebServerConfig::default(), ApplicationConfig::default())
}

#[test]
fn abort_before_params_end_then_end_the_request() {
    // §5.4 annotations: output is allowed after an abort even before PARAMS
    // has ended, so that an application can end the request at once. What
    // the application side allows, the web-server side must accept.
    let mut p = pair();
    p.server(|s, o| {
        s.begin_request(rid(1), Role::Responder, true, o)?;
        s.params(rid(1), [(&b"A"[..], &b"1"[..])], o)?;
        s.abort_request(rid(1), o)
    })
    .unwrap();
    assert!(p.app.is_aborted(rid(1)));
    let evs = p
        .app(|a, o| {
            a.end_stream(StreamType::Stdout, rid(1), o)?;
            a.end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)
                .map(|_| ())
        })
        .unwrap();
    assert_eq!(evs.len(), 2);
    assert!(!p.server.is_active(rid(1)));
}

#[test]
fn strict_stdout_end_accepts_refusals() {
    // A refusal (CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE) carries no output,
    // so no STDOUT was begun: R-5.3-1 asks nothing of it, even in strict mode.
    let strict = WebServerConfig::default().with_require_stdout_end(true);
    let mut p = Pair::new(strict, ApplicationConfig::default());
    p.server(|s, o| {
        s.begin_request(rid(1), Role::Responder, true, o)?;
        s.begin_request(rid(2), Role::Unknown(9), true, o)?;
        s.begin_request(rid(3), Role::Responder, true, o)
    })
    .unwrap();
    for (id, status) in [
        (1, ProtocolStatus::CantMpxConn),
        (2, ProtocolStatus::UnknownRole),
        (3, ProtocolStatus::Overloaded),
    ] {
        let evs = p
            .app(|a, o| a.end_request(rid(id), 0, status, o).map(|_| ()))
            .unwrap();
        assert!(evs[0].contains("stdout_ended: false"), "{evs:?}");
    }
    assert_eq!(p.server.active().count(), 0);
}

#[test]
fn abort_at_every_stage() {
    // The web server aborts after BEGIN, after PARAMS, during STDIN, after
    // STDIN, and while the application streams; each request ends cleanly.
    for stage in 0..5 {
        let mut p = pair();
        p.server(|s, o| s.begin_request(rid(1), Role::Responder, true, o))
            .unwrap();
        if stage >= 1 {
            p.server(|s, o| s.end_stream(StreamType::Params, rid(1), o))
                .unwrap();
        }
        if stage >= 2 {
            p.server(|s, o| s.stream(StreamType::Stdin, rid(1), b"part", o))
                .unwrap();
        }
        if stage >= 3 {
            p.server(|s, o| s.end_stream(StreamType::Stdin, rid(1), o))
                .unwrap();
        }
        if stage >= 4 {
            p.app(|a, o| {
                a.stream(
                    StreamType::Stdout,
                    rid(1),
                    b"Content-type: text/plain\r\n\r\n",
                    o,
                )
            })
            .unwrap();
        }
        let evs = p.server(|s, o| s.abort_request(rid(1), o)).unwrap();
        assert_eq!(evs, vec!["AbortRequest { request_id: 1 }"], "stage {stage}");
        // The web server may keep sending input; the application reads it.
        if stage == 2 {
            p.server(|s, o| s.end_stream(StreamType::Stdin, rid(1), o))
                .unwrap();
        }
        p.app(|a, o| {
            a.end_stream(StreamType::Stdout, rid(1), o)?;
            a.end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)
                .map(|_| ())
        })
        .unwrap_or_else(|e| panic!("stage {stage}: {e}"));
        assert!(
            !p.server.is_active(rid(1)) && !p.app.is_active(rid(1)),
            "stage {stage}"
        );
    }
}

#[test]
fn keep_conn_and_close() {
    // Two requests on one connection: 1 keeps the connection, 2 does not.
    // The application closes only once both have ended (R-3.5-1).
    let mut p = pair();
    p.server(|s, o| {
        s.begin_request(rid(1), Role::Responder, true, o)?;
        s.end_stream(StreamType::Params, rid(1), o)?;
        s.begin_request(rid(2), Role::Responder, false, o)?;
        s.end_stream(StreamType::Params, rid(2), o)
    })
    .unwrap();
    let mut close = false;
    p.app(|a, o| {
        a.end_stream(StreamType::Stdout, rid(2), o)?;
        close = a.end_request(rid(2), 0, ProtocolStatus::RequestComplete, o)?;
        Ok(())
    })
    .unwrap();
    assert!(close);
    assert!(!p.app.should_close(), "request 1 is still active");
    let evs = p
        .app(|a, o| {
            a.end_stream(StreamType::Stdout, rid(1), o)?;
            close = a.end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)?;
            Ok(())
        })
        .unwrap();
    assert!(!close);
    assert!(p.app.should_close());
    assert!(evs[1].contains("keep_conn: true"));
}

#[test]
fn keep_conn_sequence_reuses_ids() {
    let mut p = pair();
    for round in 0..3u8 {
        p.server(|s, o| {
            let id = s.free_id().unwrap();
            assert_eq!(id, rid(1));
            s.begin_request(id, Role::Responder, true, o)?;
            s.params(id, [(&b"ROUND"[..], &[b'0' + round][..])], o)?;
            s.end_stream(StreamType::Params, id, o)?;
            s.end_stream(StreamType::Stdin, id, o)
        })
        .unwrap();
        p.app(|a, o| {
            a.stream(StreamType::Stdout, rid(1), b"Status: 204\r\n\r\n", o)?;
            a.end_stream(StreamType::Stdout, rid(1), o)?;
            assert!(!a.end_request(rid(1), 0, ProtocolStatus::RequestComplete, o)?);
            Ok(())
        })
        .unwrap();
        assert!(!p.app.should_close());
    }
    assert_eq!(p.seen_app, 3 * 4);
}

/// One step of a legal conversation for one request.
#[derive(Debug, Clone, Copy)]
enum Step {
    Server(u8),
    App(u8),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random legal interleavings of up to 6 multiplexed requests, some
    /// aborted, each side writing through its state machine and reading the
    /// other's records: neither side ever reports a violation, and at the
    /// end nothing is active on either side.
    #[test]
    fn multiplexed_legal_flows(
        n in 1usize..7,
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..400),
        abort_at in prop::collection::vec(prop::option::of(1u8..=6), 6),
        roles in prop::collection::vec(prop::sample::select(vec![Role::Responder, Role::Filter, Role::Authorizer]), 6),
    ) {
        let mut p = pair();
        // Per request: how far the server and the application have got.
        let mut srv = vec![0u8; n];
        let mut app_at = vec![0u8; n];
        let mut aborted = vec![false; n];
        let ids: Vec<u16> = (0..n).map(|i| (i as u16) * 3 + 1).collect();
        // Server script: 0 begin, 1 params, 2 end params, 3 stdin, 4 end stdin,
        // 5 data + end data (filter) or nothing, 6 done; an abort, if chosen,
        // comes before the step numbered `abort_at` (6: after all input).
        // App script (after PARAMS ended, or after an abort): 0 stdout,
        // 1 stderr, 2 end stdout, 3 end stderr, 4 end request, 5 done.
        let mut picks = picks.into_iter();
        for _ in 0..2000 {
            let mut ready = Vec::new();
            for i in 0..n {
                if (srv[i] < 6 || (abort_at[i] == Some(6) && !aborted[i])) && app_at[i] < 5 {
                    ready.push(Step::Server(i as u8));
                }
                let params_ended = srv[i] >= 3;
                if app_at[i] < 5 && (params_ended || aborted[i]) && srv[i] >= 1 {
                    ready.push(Step::App(i as u8));
                }
            }
            if ready.is_empty() {
                break;
            }
            let step = match picks.next() {
                Some(ix) => ready[ix.index(ready.len())],
                None => ready[0],
            };
            match step {
                Step::Server(i) => {
                    let i = usize::from(i);
                    let id = ids[i];
                    let role = roles[i];
                    let at = srv[i];
                    if abort_at[i] == Some(at) && !aborted[i] {
                        let r = p.server(|s, o| s.abort_request(rid(id), o));
                        prop_assert!(r.is_ok(), "abort of {} before step {}: {:?}", id, at, r);
                        aborted[i] = true;
                        continue;
                    }
                    let r = p.server(|s, o| match at {
                        0 => s.begin_request(rid(id), role, true, o),
                        1 => s.params(rid(id), [(&b"REQUEST_ID"[..], id.to_string().as_bytes())], o),
                        2 => s.end_stream(StreamType::Params, rid(id), o),
                        3 => s.stream(StreamType::Stdin, rid(id), b"body", o),
                        4 => s.end_stream(StreamType::Stdin, rid(id), o),
                        5 if role == Role::Filter => {
                            s.stream(StreamType::Data, rid(id), b"file", o)?;
                            s.end_stream(StreamType::Data, rid(id), o)
                        }
                        _ => Ok(()),
                    });
                    prop_assert!(r.is_ok(), "server step {} of {}: {:?}", at, id, r);
                    srv[i] += 1;
                }
                Step::App(i) => {
                    let i = usize::from(i);
                    let id = ids[i];
                    let at = app_at[i];
                    let r = p.app(|a, o| match at {
                        0 => a.stream(StreamType::Stdout, rid(id), b"Content-type: text/plain\r\n\r\n", o),
                        1 => a.stream(StreamType::Stderr, rid(id), b"log line\n", o),
                        2 => a.end_stream(StreamType::Stdout, rid(id), o),
                        3 => a.end_stream(StreamType::Stderr, rid(id), o),
                        4 => a.end_request(rid(id), 0, ProtocolStatus::RequestComplete, o).map(|_| ()),
                        _ => Ok(()),
                    });
                    prop_assert!(r.is_ok(), "app step {} of {}: {:?}", at, id, r);
                    app_at[i] += 1;
                }
            }
        }
        prop_assert_eq!(p.server.active().count(), 0);
        prop_assert_eq!(p.app.active().count(), 0);
        prop_assert!(!p.app.should_close());
    }
}

// ------------------------------------------------------------------ limits of the other layers

#[test]
fn reassembler_open_stream_limit() {
    use fcgi_proto::stream::Reassembler;
    // At most max_requests request ids hold open streams at once; more
    // streams of one id are no more ids.
    let mut r = Reassembler::new(Limits {
        max_requests: 2,
        ..Limits::default()
    });
    let w = wire(|e, w| {
        e.stream(StreamType::Stdin, 1, b"x", w).unwrap();
        e.stream(StreamType::Data, 1, b"x", w).unwrap();
        e.stream(StreamType::Stdin, 2, b"x", w).unwrap();
        e.stream(StreamType::Stdin, 3, b"x", w).unwrap();
    });
    let results: Vec<_> = records(&w).map(|rec| r.push(&rec.unwrap())).collect();
    assert!(results[..3].iter().all(|x| matches!(x, Ok(None))));
    assert_err(
        &results[3],
        &ErrorKind::LimitExceeded {
            limit: Limit::ConcurrentRequests,
            max: 2,
        },
        48,
    );
    assert_eq!(r.buffered(), 3, "nothing was kept for the refused stream");
}

#[test]
fn reassembler_params_limit_and_reset() {
    use fcgi_proto::stream::Reassembler;
    let mut r = Reassembler::new(Limits {
        max_params_bytes: 4,
        ..Limits::default()
    });
    let w = wire(|e, w| {
        e.stream(StreamType::Params, 1, &[1, 1, b'a'], w).unwrap();
        e.stream(StreamType::Params, 1, &[b'b', 0], w).unwrap();
    });
    let results: Vec<_> = records(&w).map(|rec| r.push(&rec.unwrap())).collect();
    assert!(matches!(results[0], Ok(None)));
    assert_err(
        &results[1],
        &ErrorKind::LimitExceeded {
            limit: Limit::ParamsBytes,
            max: 4,
        },
        16,
    );
    // A stream that ended can start over only after reset (a new request).
    let end = wire(|e, w| e.end_stream(StreamType::Stdin, 2, w).unwrap());
    let rec = records(&end).next().unwrap().unwrap();
    assert!(r.push(&rec).unwrap().is_some());
    assert!(r.push(&rec).is_err());
    r.reset(2);
    assert!(r.push(&rec).unwrap().is_some());
}

#[test]
fn decoder_backlog_limit_is_sticky() {
    use fcgi_proto::decoder::Decoder;
    use fcgi_proto::record::{ParseOptions, MAX_RECORD_LEN};
    // The limit is raised to one maximal record.
    let mut d = Decoder::with_options(ParseOptions::default(), 10);
    let header = [1, 6, 0, 1, 0xff, 0xff, 0xff, 0];
    d.push(&header).unwrap();
    d.push(&vec![0; MAX_RECORD_LEN - header.len()]).unwrap();
    let e = d.push(&[1]).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::LimitExceeded {
            limit: Limit::BufferBytes,
            max: MAX_RECORD_LEN
        }
    );
    assert_eq!(e.offset(), MAX_RECORD_LEN as u64);
    assert_eq!(d.next_record().unwrap_err(), e);
    assert_eq!(d.finish().unwrap_err(), e);
}

#[test]
fn management_bytes_limit() {
    // Limits::max_management_bytes bounds a GET_VALUES (application side)
    // and a GET_VALUES_RESULT (web-server side) block.
    let limits = Limits {
        max_management_bytes: 16,
        ..Limits::default()
    };
    let query = wire(|e, w| {
        e.get_values([&b"FCGI_MAX_CONNS"[..], b"FCGI_MAX_REQS"], w)
            .unwrap();
    });
    let mut a = Application::new(ApplicationConfig::default().with_limits(limits));
    assert_err(
        &to_app(&mut a, &query)[0],
        &ErrorKind::LimitExceeded {
            limit: Limit::ManagementBytes,
            max: 16,
        },
        0,
    );
    let answer = wire(|e, w| {
        let block = Values {
            max_conns: Some(100),
            max_reqs: Some(100),
            mpxs_conns: Some(true),
        }
        .answer(records(&query).next().unwrap().unwrap().content)
        .unwrap();
        e.record(RecordType::GetValuesResult, 0, &block, w).unwrap();
    });
    let mut s = WebServer::new(WebServerConfig::default().with_limits(limits));
    assert_err(
        &to_server(&mut s, &answer)[0],
        &ErrorKind::LimitExceeded {
            limit: Limit::ManagementBytes,
            max: 16,
        },
        0,
    );
    // Within the limit both pass.
    let small = wire(|e, w| e.get_values([&b"X"[..]], w).unwrap());
    assert!(to_app(&mut a, &small)[0].is_ok());
}

#[test]
fn params_block_errors_point_into_the_input() {
    // A malformed PARAMS block is judged on the stream's empty record; the
    // error's offset is that record's (a stream offset, like every other
    // error of the state machines), not an offset inside the gathered block.
    let w = wire(|e, w| {
        e.begin_request(1, Role::Responder, true, w).unwrap();
        e.stream(StreamType::Stdin, 1, &[0; 40], w).unwrap();
        e.record(RecordType::Params, 1, &[3, 0x80, 0], w).unwrap();
        e.end_stream(StreamType::Params, 1, w).unwrap();
    });
    let kind = ErrorKind::TruncatedLength {
        which: PairPart::Value,
    };
    let mut c = Application::default();
    let r = to_app(&mut c, &w);
    assert_err(&r[3], &kind, 80);
    let mut re = fcgi_proto::stream::Reassembler::default();
    let results: Vec<_> = records(&w).map(|rec| re.push(&rec.unwrap())).collect();
    assert_err(&results[3], &kind, 80);
}

/// Errors by whose fault they are: the same rule broken by the peer's bytes
/// is an `Error` of class Protocol at an offset; broken by the caller's own
/// write it is a `UsageError`, a type of its own with no offset; bad bytes
/// are Malformed; a bound is a Limit.
#[test]
fn errors_say_whose_fault_they_are() {
    use fcgi_proto::{ErrorClass, UsageKind};
    // The peer sends STDOUT after its end: Protocol, at the record.
    let mut c = server_with(&[1], WebServerConfig::default());
    let w = wire(|e, w| {
        e.end_stream(StreamType::Stdout, 1, w).unwrap();
        e.stream(StreamType::Stdout, 1, b"late", w).unwrap();
    });
    let r = to_server(&mut c, &w);
    let e = r[1].as_ref().unwrap_err();
    assert_eq!((e.class(), e.offset()), (ErrorClass::Protocol, 8));
    assert_eq!(e.requirement(), Some(R_5_3_1));
    // The caller writes STDIN after its end: a UsageError naming the same
    // rule, and no offset to give.
    let mut out = Vec::new();
    let e: UsageError = c
        .stream(StreamType::Stdin, rid(1), b"late", &mut out)
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &UsageKind::StreamEnded {
            stream: StreamType::Stdin,
            request_id: 1
        }
    );
    assert_eq!(e.requirement(), Some(R_5_3_1));
    assert!(out.is_empty(), "a refused write writes nothing");
    assert!(e.to_string().contains("a call the rules forbid"), "{e}");
    assert!(!e.to_string().contains("at byte"), "{e}");
    // Bytes that are not a record: Malformed.
    let e = records(&[2, 1, 0, 1, 0, 0, 0, 0])
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Malformed);
    // Over a configured bound: Limit.
    let mut a = Application::new(ApplicationConfig::default().with_limits(Limits {
        max_params_bytes: 2,
        ..Limits::default()
    }));
    let w = wire(|e, w| {
        e.begin_request(1, Role::Responder, true, w).unwrap();
        e.stream(StreamType::Params, 1, b"abc", w).unwrap();
    });
    let r = to_app(&mut a, &w);
    assert_eq!(r[1].as_ref().unwrap_err().class(), ErrorClass::Limit);
}

/// The post-error contract (fcgi_proto::connection): an error rejects the
/// record, not the connection. The state is as before it and the
/// conversation goes on; a PARAMS record the application side cannot take
/// closes that request's PARAMS, so no later fragment joins a block with a
/// hole in it, and the request stays active for the caller to end.
#[test]
fn an_error_rejects_the_record_not_the_connection() {
    // Web server side: a second END_REQUEST is refused; the state is
    // unchanged and the next request's records are still judged.
    let mut s = server_with(&[1, 2], WebServerConfig::default());
    let w = wire(|e, w| {
        e.end_request(1, 0, ProtocolStatus::RequestComplete, w)
            .unwrap();
    });
    assert!(to_server(&mut s, &w)[0].is_ok());
    let before = s.clone();
    let r = to_server(&mut s, &w);
    assert_err(&r[0], &ErrorKind::RequestEnded(1), 0);
    assert_eq!(s, before, "a refused record changes nothing");
    let w = wire(|e, w| {
        e.stream(StreamType::Stdout, 2, b"still judged", w).unwrap();
    });
    assert!(to_server(&mut s, &w)[0].is_ok());

    // Application side: a PARAMS fragment over the limit closes PARAMS.
    let mut a = Application::new(ApplicationConfig::default().with_limits(Limits {
        max_params_bytes: 4,
        ..Limits::default()
    }));
    let w = wire(|e, w| {
        e.begin_request(1, Role::Responder, true, w).unwrap();
        e.stream(StreamType::Params, 1, b"toolong", w).unwrap();
        e.stream(StreamType::Params, 1, &[1, 1, b'a', b'b'], w)
            .unwrap();
        e.end_stream(StreamType::Stdin, 1, w).unwrap();
    });
    let r = to_app(&mut a, &w);
    assert!(matches!(
        r[1].as_ref().unwrap_err().kind(),
        ErrorKind::LimitExceeded {
            limit: Limit::ParamsBytes,
            ..
        }
    ));
    let after_end = ErrorKind::StreamAfterEnd {
        record_type: RecordType::Params,
        request_id: 1,
    };
    assert_eq!(r[2].as_ref().unwrap_err().kind(), &after_end);
    assert!(r[3].as_ref().unwrap().starts_with("StdinEnd"), "{:?}", r[3]);
    assert!(
        a.is_active(rid(1)),
        "the request stays, for the caller to end"
    );
    let mut out = Vec::new();
    a.end_request(rid(1), 1, ProtocolStatus::RequestComplete, &mut out)
        .unwrap();
}
