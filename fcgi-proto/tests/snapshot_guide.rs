//! The worked example of docs/snapshot-testing.md, kept as a real test so
//! that the guide cannot rot: the code between `guide:start` and
//! `guide:end` markers, and the snapshots it makes, are quoted in the guide,
//! and `the_guide_quotes_this_file` fails when the two disagree.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/repo.rs"]
mod repo;

// guide:start:their-code
/// "Their" code: a hand-written FastCGI responder's output path, as another
/// implementation would have it. It writes STDOUT in records of at most
/// 65535 bytes, padded to a multiple of 8, then the empty STDOUT record and
/// END_REQUEST (§5.3, §5.5).
fn write_response(request_id: u16, body: &[u8], app_status: u32, out: &mut Vec<u8>) {
    fn record(out: &mut Vec<u8>, kind: u8, id: u16, content: &[u8]) {
        let len = content.len() as u16;
        let pad = (8 - content.len() % 8) % 8;
        out.extend_from_slice(&[1, kind]);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[pad as u8, 0]);
        out.extend_from_slice(content);
        out.resize(out.len() + pad, 0);
    }
    const STDOUT: u8 = 6;
    const END_REQUEST: u8 = 3;
    for chunk in body.chunks(65535) {
        record(out, STDOUT, request_id, chunk);
    }
    record(out, STDOUT, request_id, &[]);
    let mut end = app_status.to_be_bytes().to_vec();
    end.extend_from_slice(&[0, 0, 0, 0]); // FCGI_REQUEST_COMPLETE, reserved
    record(out, END_REQUEST, request_id, &end);
}
// guide:end:their-code

// guide:start:snapshot-test
#[test]
fn response_bytes() {
    let mut wire = Vec::new();
    write_response(1, b"Content-Type: text/plain\r\n\r\nhello", 0, &mut wire);

    // 1. The bytes frame into records and every body decodes.
    let dump = fcgi_proto::dump::dump(&wire);
    assert!(dump.is_clean(), "{dump}");

    // 2. The wire bytes, one line per record, pinned in a snapshot.
    insta::assert_snapshot!(dump.to_string());
}
// guide:end:snapshot-test

// guide:start:judge-test
#[test]
fn response_obeys_the_conversation_rules() {
    use fcgi_proto::connection::{RequestId, WebServer};
    use fcgi_proto::{record::records, role::Role, stream::StreamType};

    // The web server's side of the connection judges what the application wrote.
    let mut judge = WebServer::default();
    let mut request = Vec::new();
    let id = RequestId::MIN;
    judge
        .begin_request(id, Role::Responder, false, &mut request)
        .unwrap();
    judge
        .end_stream(StreamType::Params, id, &mut request)
        .unwrap();
    judge
        .end_stream(StreamType::Stdin, id, &mut request)
        .unwrap();

    let mut wire = Vec::new();
    write_response(1, b"Status: 204\r\n\r\n", 0, &mut wire);
    let mut events = Vec::new();
    for record in records(&wire) {
        let event = judge
            .handle(&record.unwrap())
            .unwrap_or_else(|e| panic!("{e}"));
        events.push(format!("{event:?}"));
    }
    assert!(
        events.last().unwrap().contains("stdout_ended: true"),
        "{events:?}"
    );
    assert!(!judge.is_active(id));
}
// guide:end:judge-test

// guide:start:long-body
#[test]
fn long_body_is_split() {
    let body = vec![b'x'; 70_000];
    let mut wire = Vec::new();
    write_response(7, &body, 0, &mut wire);
    insta::assert_snapshot!("long_body", fcgi_proto::dump::render(&wire));
}
// guide:end:long-body

/// The blocks of `docs/snapshot-testing.md` are this file's marked regions
/// and snapshots, verbatim.
#[test]
fn the_guide_quotes_this_file() {
    let Some(guide) = repo::file("docs/snapshot-testing.md") else {
        return;
    };
    let source = include_str!("snapshot_guide.rs");
    let mut regions = 0;
    for part in source.split("\n// guide:start:").skip(1) {
        let (name, rest) = part.split_once('\n').unwrap();
        let end = format!("\n// guide:end:{name}");
        let Some((body, _)) = rest.split_once(end.as_str()) else {
            panic!("region {name} has no end marker");
        };
        assert!(
            guide.contains(&format!("```rust\n{body}\n```")),
            "docs/snapshot-testing.md does not quote region `{name}` verbatim:\n{body}"
        );
        regions += 1;
    }
    assert_eq!(regions, 4);
    for snap in [
        "snapshot_guide__response_bytes.snap",
        "snapshot_guide__long_body.snap",
    ] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/snapshots")
                .join(snap),
        )
        .unwrap();
        // The snapshot body: everything after insta's header.
        let body = text.splitn(3, "---\n").nth(2).unwrap();
        assert!(
            guide.contains(&format!("```text\n{body}```")),
            "docs/snapshot-testing.md does not show {snap} verbatim:\n{body}"
        );
    }
}
