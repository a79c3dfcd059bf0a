//! The application suite's cases. Each names its spec section and
//! requirement IDs, says what it expects, and returns a verdict that could
//! have gone the other way.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::management::{self, UnknownTypeBody};
use fcgi_proto::name_value;
use fcgi_proto::record::{Header, RecordType, NULL_REQUEST_ID};
use fcgi_proto::role::Role;

use super::conn::{Conn, ConnError};
use super::ctx::{compare_echo, dump_preview, no_end, same_as_sent, well_formed, Ctx};
use super::request::{parse_echo, Req};
use crate::case::{CaseInfo, Outcome};

/// A case future.
pub type CaseFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// How a case may be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Runs beside other cases.
    Concurrent,
    /// Sends hostile bytes: runs alone, then the runner checks the
    /// application still serves a fresh connection.
    Hostile,
}

/// A case: its description, scheduling and body.
pub struct Case {
    /// What it is.
    pub info: CaseInfo,
    /// How it is scheduled.
    pub kind: Kind,
    /// What it does.
    pub run: fn(Ctx) -> CaseFuture,
}

macro_rules! case {
    ($id:literal, $section:literal, [$($req:literal),*], $kind:ident, $title:literal, $expects:literal, $f:ident) => {
        Case {
            info: CaseInfo {
                id: $id,
                title: $title,
                section: $section,
                requirements: &[$($req),*],
                expects: $expects,
            },
            kind: Kind::$kind,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}

/// Every case, in spec order.
pub fn all() -> Vec<Case> {
    vec![
        case!("app/2.2/listen-socket", "2.2", ["R-2.2-1", "R-2.2-4", "R-3.2-1"], Concurrent,
            "accepts on the listening socket given as descriptor 0",
            "Only with --spawn: the runner hands the application a listening socket on descriptor 0 and expects requests on it to be served.",
            listen_socket),
        case!("app/3.3/version", "3.3", ["R-3.3-1"], Concurrent,
            "every record sent carries version 1",
            "A plain request; every record of the answer has version FCGI_VERSION_1.",
            version),
        case!("app/3.3/aligned-output", "3.3", ["R-3.3-4"], Concurrent,
            "records sent are padded to multiples of 8 bytes",
            "A plain request; each answer record (header, content, padding) is a multiple of 8 bytes long. A SHOULD: a miss is a warning.",
            aligned_output),
        case!("app/3.3/padding-255", "3.3", ["R-3.3-3"], Concurrent,
            "requests with 255 padding bytes per record are served alike",
            "Every record of the request carries 255 padding bytes; the answer equals what was sent (echo) or the baseline status.",
            padding_255),
        case!("app/3.3/padding-none", "3.3", ["R-3.3-3"], Concurrent,
            "requests without padding are served alike",
            "No record of the request is padded; the answer equals what was sent (echo) or the baseline status.",
            padding_none),
        case!("app/3.3/chopped-writes", "3.3", ["R-3.3-12", "R-3.3-6"], Concurrent,
            "a request written one byte per write is served alike",
            "The whole request is written one byte at a time (Autobahn's chopsize); the answer is the same.",
            chopped_writes),
        case!("app/3.3/padding-garbage", "3.3", ["R-3.3-3"], Concurrent,
            "nonzero padding bytes are ignored",
            "Every record carries 7 padding bytes of 0xff; the receiver must discard padding whatever it holds, so the answer is the same.",
            padding_garbage),
        case!("app/3.3/reserved-nonzero", "3.3", ["R-3.3-7"], Concurrent,
            "a nonzero reserved header byte is ignored",
            "Every record's reserved header byte is 0x5a; receivers should ignore it (a SHOULD: a difference is a warning).",
            reserved_nonzero),
        case!("app/3.3/concurrent-connections", "3.3", ["R-3.2-3"], Concurrent,
            "two connections open at once",
            "A request on a second connection while a first connection holds a half-sent request; whether it is served is recorded (applications may serve one connection at a time).",
            concurrent_connections),
        case!("app/3.3/abort-inactive-id", "3.3", ["R-3.3-9"], Concurrent,
            "ABORT_REQUEST for an id never begun is ignored",
            "ABORT_REQUEST for id 9, then a normal request on the same connection: served, nothing sent for id 9.",
            abort_inactive_id),
        case!("app/3.3/wrong-version", "3.3", ["R-3.3-1", "R-3.5-3"], Hostile,
            "a record with version 2 does not stop the application",
            "BEGIN_REQUEST with version 2. Whatever the application does with that connection (info), it must still serve a fresh one.",
            wrong_version),
        case!("app/3.3/garbage-after-record", "3.3", ["R-3.3-6", "R-3.5-3"], Hostile,
            "garbage after a valid record does not stop the application",
            "A valid BEGIN_REQUEST then 64 random bytes. The application may drop that connection; it must still serve a fresh one.",
            garbage_after_record),
        case!("app/3.3/half-record", "3.3", ["R-3.3-2", "R-3.5-3"], Hostile,
            "a half-sent record then silence does not stop the application",
            "A header declaring 65535 content bytes, 10 of them, then silence until the timeout and a close; the application then serves a fresh connection.",
            half_record),
        case!("app/3.3/cut-mid-request", "3.3", ["R-3.5-3"], Hostile,
            "a connection cut mid-request does not stop the application",
            "BEGIN_REQUEST and half the PARAMS, then the connection is closed; the application then serves a fresh connection.",
            cut_mid_request),
        case!("app/3.3/inactive-id-ignored", "3.3", ["R-3.3-9"], Concurrent,
            "records for an inactive request id are ignored",
            "STDIN and PARAMS records for an id never begun, then a normal request on the same connection: served, nothing answered for the stray id.",
            inactive_id_ignored),
        case!("app/3.4/long-form-short-lengths", "3.4", ["R-3.4-3"], Concurrent,
            "the 4-byte length form for short names and values is accepted",
            "Every name and value length is sent in the 4-byte form; the answer is the same.",
            long_form_short_lengths),
        case!("app/3.4/long-values", "3.4", ["R-3.4-2", "R-3.4-6"], Concurrent,
            "values of 127, 128 and 64 KiB+1 bytes cross record boundaries intact",
            "Params with values of 127, 128 and 65537 bytes (the last spans two PARAMS records); with the echo contract each comes back unchanged.",
            long_values),
        case!("app/3.4/params-one-byte-records", "3.4", ["R-3.4-6", "R-5.2-1"], Concurrent,
            "PARAMS split into one-byte records is served alike",
            "The PARAMS stream is sent one content byte per record, so lengths straddle records; the answer is the same.",
            params_one_byte_records),
        case!("app/3.4/truncated-params", "3.4", ["R-3.4-4", "R-3.5-3"], Hostile,
            "a PARAMS block whose last pair overruns its stream does not stop the application",
            "PARAMS whose last value length exceeds the bytes sent, then the empty PARAMS; the application may refuse or drop the request (info), then must serve a fresh connection.",
            truncated_params),
        case!("app/3.5/close-without-keep-conn", "3.5", ["R-3.5-1", "R-5.1-2"], Concurrent,
            "without FCGI_KEEP_CONN the application closes after END_REQUEST",
            "A request without FCGI_KEEP_CONN; after END_REQUEST the application closes the connection.",
            close_without_keep_conn),
        case!("app/4.1/get-values", "4.1", ["R-4.1-1", "R-4.1-3", "R-4-1"], Concurrent,
            "GET_VALUES for the three variables is answered",
            "GET_VALUES for FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS: one GET_VALUES_RESULT, request id 0, well-formed pairs, decimal values, MPXS 0 or 1.",
            get_values),
        case!("app/4.1/get-values-unknown-name", "4.1", ["R-4.1-2"], Concurrent,
            "unknown names are left out of GET_VALUES_RESULT",
            "GET_VALUES for an unknown name and FCGI_MPXS_CONNS; the result holds no unknown name.",
            get_values_unknown_name),
        case!("app/4.1/get-values-mid-request", "4.1", ["R-4.1-5"], Concurrent,
            "management records between a request's records change nothing",
            "A GET_VALUES after each record of a request: each answered or ignored, the request served alike.",
            get_values_mid_request),
        case!("app/4/management-nonzero-id", "4", ["R-4-1"], Concurrent,
            "what the application does with GET_VALUES carrying request id 1",
            "A web server must send management records with id 0; this one does not. Recorded: answered, ignored or closed (info).",
            management_nonzero_id),
        case!("app/4.2/unknown-type", "4.2", ["R-4.2-1", "R-4.2-2"], Concurrent,
            "an unknown management record type is answered with UNKNOWN_TYPE",
            "A record of type 99 with request id 0; the answer is UNKNOWN_TYPE, request id 0, naming 99.",
            unknown_type),
        case!("app/5.1/unknown-role", "5.1", ["R-5.1-3"], Concurrent,
            "an unknown role is refused with FCGI_UNKNOWN_ROLE",
            "BEGIN_REQUEST with role 99; the answer is END_REQUEST with FCGI_UNKNOWN_ROLE and no STDOUT, not a dropped connection.",
            unknown_role),
        case!("app/5.1/keep-conn", "5.1", ["R-5.1-2", "R-3.3-8"], Concurrent,
            "with FCGI_KEEP_CONN a second request is served on the same connection",
            "Two requests one after the other on one connection, both with FCGI_KEEP_CONN and the same id; both served, the connection stays open.",
            keep_conn),
        case!("app/5.1/reserved-flags", "5.1", ["R-5.1-7"], Concurrent,
            "unknown flag bits and reserved BEGIN_REQUEST bytes are ignored",
            "BEGIN_REQUEST with flags 0xfe (KEEP_CONN clear) and nonzero reserved bytes; the request is served alike (a SHOULD: a difference is a warning).",
            reserved_flags),
        case!("app/5.1/begin-active-id", "5.1", ["R-5.1-6"], Hostile,
            "what the application does with a second BEGIN_REQUEST for an active id",
            "The web server breaks R-5.1-6; the application's reaction is recorded (info), and it must still serve a fresh connection.",
            begin_active_id),
        case!("app/5.2/params-empty", "5.2", ["R-5.2-1", "R-5.5-5"], Concurrent,
            "a request with an empty PARAMS stream still ends with END_REQUEST",
            "PARAMS is only its empty record; the application may answer an error status, but the request must end with END_REQUEST.",
            params_empty),
        case!("app/5.2/params-duplicates", "5.2", ["R-5.2-2"], Concurrent,
            "which of two params with the same name the application sees",
            "ECHO_DUP is sent twice with different values; the echo shows which one wins (info).",
            params_duplicates),
        case!("app/5.3/extra-empty-record", "5.3", ["R-5.3-1"], Concurrent,
            "a second empty STDIN record after the stream ended",
            "The web server sends one empty STDIN record too many; the application's reaction is recorded (info).",
            extra_empty_record),
        case!("app/5.3/stdout-ended", "5.3", ["R-5.3-1", "R-6.2-1"], Concurrent,
            "STDOUT is ended by an empty record before END_REQUEST",
            "A plain request; STDOUT ends with an empty record before END_REQUEST.",
            stdout_ended),
        case!("app/5.3/empty-stdin", "5.3", ["R-5.3-1", "R-6.1-5"], Concurrent,
            "a request with an empty STDIN stream is served",
            "STDIN is only its empty record and CONTENT_LENGTH is 0; the answer shows an empty body.",
            empty_stdin),
        case!("app/5.3/large-stdin", "5.3", ["R-3.3-12", "R-5.3-3"], Concurrent,
            "a 4 MiB body arrives intact",
            "STDIN of 4 MiB of varied bytes in 65535-byte records; with the echo contract it comes back byte for byte.",
            large_stdin),
        case!("app/5.3/large-response", "5.3", ["R-3.3-2", "R-5.3-1"], Concurrent,
            "a 1 MiB response spans records correctly",
            "With the echo contract, ECHO_BIG asks for 1 MiB more body; it arrives whole, in records of at most 65535 bytes, STDOUT ended.",
            large_response),
        case!("app/5.3/stderr", "5.3", ["R-5.3-1", "R-6.1-4"], Concurrent,
            "STDERR, once begun, is ended by an empty record",
            "With the echo contract, ECHO_STDERR asks for a STDERR line; once STDERR carries data it must end with an empty record (a warning, not a failure: OQ-26). No STDERR at all is recorded as info.",
            stderr),
        case!("app/5.4/abort-after-begin", "5.4", ["R-5.4-1"], Concurrent,
            "ABORT_REQUEST right after BEGIN_REQUEST ends the request",
            "BEGIN_REQUEST then ABORT_REQUEST; the request ends with END_REQUEST, the connection is not dropped without it.",
            abort_after_begin),
        case!("app/5.4/abort-after-params", "5.4", ["R-5.4-1"], Concurrent,
            "ABORT_REQUEST after PARAMS ends the request",
            "BEGIN_REQUEST, PARAMS, then ABORT_REQUEST; the request ends with END_REQUEST.",
            abort_after_params),
        case!("app/5.4/abort-during-stdin", "5.4", ["R-5.4-1"], Concurrent,
            "ABORT_REQUEST while STDIN is open ends the request",
            "A POST whose body is half sent, then ABORT_REQUEST; the request ends with END_REQUEST.",
            abort_during_stdin),
        case!("app/5.4/abort-during-response", "5.4", ["R-5.4-1", "R-5.5-5"], Concurrent,
            "ABORT_REQUEST while the response streams ends the request",
            "With the echo contract, a 4 MiB response is asked for and aborted after its first STDOUT record; the request still ends with one END_REQUEST.",
            abort_during_response),
        case!("app/5.4/abort-spares-others", "5.4", ["R-5.4-1", "R-B-1"], Concurrent,
            "aborting one request leaves another on the connection unharmed",
            "Two requests on one connection (multiplexing applications only), the first aborted; the second is served in full.",
            abort_spares_others),
        case!("app/5.5/end-request-body", "5.5", ["R-5.5-1", "R-6.2-5", "R-3.3-13"], Concurrent,
            "END_REQUEST has an 8-byte body with FCGI_REQUEST_COMPLETE",
            "A plain request; END_REQUEST content is exactly 8 bytes, protocolStatus 0 (appStatus recorded).",
            end_request_body),
        case!("app/5.5/nothing-after-end", "5.5", ["R-5.5-4"], Concurrent,
            "no record for a request id after its END_REQUEST",
            "A request with FCGI_KEEP_CONN; for a short while after END_REQUEST nothing more arrives for that id.",
            nothing_after_end),
        case!("app/5.5/interleaved-two", "5.5", ["R-5.5-2", "R-3.3-8", "R-B-1"], Concurrent,
            "two interleaved requests are each served or the second refused with CANT_MPX_CONN",
            "Two requests on one connection with their records interleaved: each served under its own id, or the second refused with FCGI_CANT_MPX_CONN; never dropped, never under the wrong id.",
            interleaved_two),
        case!("app/5.5/interleaved-many", "5.5", ["R-5.5-2", "R-B-1"], Concurrent,
            "eight interleaved requests are each served or refused, under their own ids",
            "Eight requests, ids 1..8, records interleaved round-robin; each ends under its own id, with a full answer or FCGI_CANT_MPX_CONN.",
            interleaved_many),
        case!("app/5.5/mpxs-consistent", "5.5", ["R-4.1-3", "R-5.5-2"], Concurrent,
            "behaviour matches what FCGI_MPXS_CONNS says",
            "Compares the FCGI_MPXS_CONNS answer with the interleaving behaviour: says 1 and serves both, or says 0 and refuses (or serves); saying 1 and refusing is a warning.",
            mpxs_consistent),
        case!("app/8/unknown-application-type", "8", ["R-8-3"], Concurrent,
            "a record of undefined type 20 for an active request",
            "A record of type 20 with the request's id between PARAMS and STDIN: answered with UNKNOWN_TYPE, ignored, or refused (info); the request must still be served or refused, not hang.",
            unknown_application_type),
        case!("app/B/flows", "B", ["R-6.2-1", "R-5.3-1", "R-5.5-1"], Concurrent,
            "appendix B's message flows, record for record",
            "The spec's typical flows: a GET with no body, a POST whose body spans two STDIN records, and two requests multiplexed if FCGI_MPXS_CONNS says so; each answered in full.",
            appendix_b_flows),
        case!("app/6.2/responder", "6.2", ["R-6.2-1", "R-6.2-2", "R-6.2-4", "R-6.2-5", "R-6.1-1"], Concurrent,
            "a Responder request is served with a CGI/1.1 response",
            "A POST with params and a body; the answer is a well-formed CGI response, STDOUT ended, END_REQUEST complete; with the echo contract, params and body come back.",
            responder),
        case!("app/6.3/authorizer", "6.3", ["R-6.3-6", "R-5.1-3"], Concurrent,
            "an Authorizer request is served with a CGI response, or refused with UNKNOWN_ROLE",
            "Role Authorizer with empty STDIN; a well-formed CGI response with a status (Variable- headers recorded), or FCGI_UNKNOWN_ROLE.",
            authorizer),
        case!("app/6.4/filter", "6.4", ["R-6.4-1", "R-6.4-2", "R-6.4-7", "R-5.1-3"], Concurrent,
            "a Filter request with DATA is served, or refused with UNKNOWN_ROLE",
            "Role Filter with STDIN, then DATA, FCGI_DATA_LENGTH and FCGI_DATA_LAST_MOD; a well-formed CGI response (with the echo contract, the data comes back) or FCGI_UNKNOWN_ROLE.",
            filter),
    ]
}

// ---- helpers ----------------------------------------------------------

fn echo_req(ctx: &Ctx, body: &[u8]) -> Req {
    ctx.req(1, body).param("ECHO_CASE", "1")
}

async fn served_alike(ctx: Ctx, req: Req, chop: Option<usize>) -> Outcome {
    let (conn, resp) = match ctx.serve(&req, chop).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match well_formed(&conn, &resp) {
        Ok(out) => same_as_sent(&ctx, &req, &out),
        Err(o) => o,
    }
}

fn varied(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

async fn send_or_fail(c: &mut Conn, bytes: &[u8]) -> Result<(), Outcome> {
    c.send(bytes)
        .await
        .map_err(|e| Outcome::fail("the bytes to be accepted", e.to_string()))
}

fn short(d: Duration) -> Duration {
    (d / 4).max(Duration::from_millis(100))
}

/// What a connection did after hostile bytes: closed, answered, or stayed silent.
async fn reaction(c: &mut Conn, wait: Duration) -> String {
    match c.closed_within(wait).await {
        Ok(None) => "closed the connection".into(),
        Ok(Some(r)) => format!(
            "answered with {} for id {}",
            r.record_type.name(),
            r.request_id
        ),
        Err(ConnError::Timeout) => "kept the connection open and silent".into(),
        Err(ConnError::Malformed(e)) => format!("sent malformed bytes: {e}"),
        Err(e) => e.to_string(),
    }
}

// ---- §2 -----------------------------------------------------------------

async fn listen_socket(ctx: Ctx) -> Outcome {
    if !ctx.spawned {
        return Outcome::skip("only with --spawn, where the runner creates the listening socket");
    }
    let req = ctx.req(1, b"");
    match ctx.serve(&req, None).await {
        Ok((conn, resp)) => match well_formed(&conn, &resp) {
            Ok(_) => Outcome::pass("served a request accepted on descriptor 0"),
            Err(o) => o,
        },
        Err(o) => o,
    }
}

// ---- §3.3 ---------------------------------------------------------------

async fn version(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"");
    let (conn, _resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    // The decoder refuses any version but 1, so reaching here means every
    // record so far had version 1; check the judge found nothing either.
    match conn.violations.first() {
        Some(v) => Outcome::fail("well-formed records", v.to_string()),
        None => Outcome::pass(format!("{} records, all version 1", conn.received.len())),
    }
}

async fn aligned_output(ctx: Ctx) -> Outcome {
    // Two bodies one byte apart, so unpadded output cannot be aligned by chance.
    let mut total = 0;
    let mut aligned = 0;
    for body in [&b"a"[..], &b"ab"[..]] {
        let req = ctx.req(1, body);
        let (conn, _resp) = match ctx.serve(&req, None).await {
            Ok(x) => x,
            Err(o) => return o,
        };
        total += conn.received.len();
        aligned += conn.aligned_records;
    }
    if aligned == total {
        Outcome::pass(format!("all {total} records are multiples of 8 bytes"))
    } else {
        Outcome::warn(
            "every record padded to a multiple of 8 bytes",
            format!("{} of {total} records are not", total - aligned),
        )
    }
}

async fn padding_255(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"padded body");
    req.padding = Padding::Fixed(255);
    served_alike(ctx, req, None).await
}

async fn padding_none(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"unpadded body");
    req.padding = Padding::None;
    served_alike(ctx, req, None).await
}

async fn chopped_writes(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"chopped body").param("ECHO_CHOP", "1");
    served_alike(ctx, req, Some(1)).await
}

async fn hostile(ctx: &Ctx, bytes: &[u8], then_close: bool) -> Result<String, Outcome> {
    let mut c = ctx.conn("hostile").await?;
    // A write error here is itself a reaction (the application closed).
    if let Err(e) = c.send(bytes).await {
        return Ok(format!("refused the bytes ({e})"));
    }
    let what = reaction(&mut c, ctx.timeout).await;
    if then_close {
        c.shutdown().await;
    }
    Ok(what)
}

async fn wrong_version(ctx: Ctx) -> Outcome {
    let mut b = echo_req(&ctx, b"").bytes();
    if let Some(v) = b.first_mut() {
        *v = 2;
    }
    match hostile(&ctx, &b, true).await {
        Ok(what) => Outcome::info(format!(
            "on a version-2 BEGIN_REQUEST the application {what}"
        )),
        Err(o) => o,
    }
}

async fn garbage_after_record(ctx: Ctx) -> Outcome {
    let mut b = echo_req(&ctx, b"").begin_bytes();
    b.extend((0..64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80));
    match hostile(&ctx, &b, true).await {
        Ok(what) => Outcome::info(format!("after garbage the application {what}")),
        Err(o) => o,
    }
}

async fn half_record(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    let mut b = req.begin_bytes();
    b.extend_from_slice(&Header::new(RecordType::Params, 1, 65535, 0).to_bytes());
    b.extend_from_slice(&[0x41; 10]);
    match hostile(&ctx, &b, true).await {
        Ok(what) => Outcome::info(format!(
            "while waiting for the rest of a record the application {what}"
        )),
        Err(o) => o,
    }
}

async fn cut_mid_request(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    let mut b = req.begin_bytes();
    let p = req.params_bytes();
    b.extend_from_slice(p.get(..p.len() / 2).unwrap_or_default());
    let mut c = match ctx.conn("cut").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    drop(c);
    Outcome::pass("connection cut after half the PARAMS")
}

async fn inactive_id_ignored(ctx: Ctx) -> Outcome {
    let enc = Encoder::default();
    let mut stray = Vec::new();
    let _ = enc.stream(RecordType::Stdin, 7, b"stray", &mut stray);
    let _ = enc.end_stream(RecordType::Stdin, 7, &mut stray);
    stray_then_served(&ctx, stray, 7, "strays").await
}

/// Records for an inactive id, then a request on the same connection: the
/// request is served and nothing is sent for the stray id (R-3.3-9).
async fn stray_then_served(ctx: &Ctx, stray: Vec<u8>, stray_id: u16, label: &str) -> Outcome {
    let req = echo_req(ctx, b"after strays").keep(true);
    let mut wire = stray;
    wire.extend(req.bytes());
    let (c, resp) = match exchange(ctx, &wire, req.id, label).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Some(r) = c.received.iter().find(|r| r.request_id == stray_id) {
        return Outcome::fail(
            format!("nothing sent for inactive request id {stray_id} (R-3.3-9)"),
            format!("{} for id {stray_id}", r.record_type.name()),
        );
    }
    match well_formed(&c, &resp) {
        Ok(out) => same_as_sent(ctx, &req, &out),
        Err(o) => o,
    }
}

// ---- §3.4 ---------------------------------------------------------------

async fn long_form_short_lengths(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"long forms").param("ECHO_SHORT", "abc");
    req.long_forms = true;
    served_alike(ctx, req, None).await
}

async fn long_values(ctx: Ctx) -> Outcome {
    let v = |n: usize| -> Vec<u8> { (0..n).map(|i| b'a' + (i % 26) as u8).collect() };
    let req = echo_req(&ctx, b"")
        .param("ECHO_V127", v(127))
        .param("ECHO_V128", v(128))
        .param("ECHO_V65537", v(65537));
    served_alike(ctx, req, None).await
}

async fn params_one_byte_records(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"tiny records").param("ECHO_TINY", "split");
    req.params_record_size = Some(1);
    served_alike(ctx, req, None).await
}

async fn truncated_params(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    let mut block = req.params_block();
    // A last pair declaring a 1000-byte value with 3 bytes present.
    block.extend_from_slice(&[4, 0x80, 0, 0x03, 0xe8]);
    block.extend_from_slice(b"ECHOabc");
    let enc = Encoder::default();
    let mut b = req.begin_bytes();
    let _ = enc.stream(RecordType::Params, 1, &block, &mut b);
    let _ = enc.end_stream(RecordType::Params, 1, &mut b);
    let _ = enc.end_stream(RecordType::Stdin, 1, &mut b);
    match hostile(&ctx, &b, true).await {
        Ok(what) => Outcome::info(format!(
            "on a PARAMS block that overruns its stream the application {what}"
        )),
        Err(o) => o,
    }
}

// ---- §3.5 ---------------------------------------------------------------

async fn close_without_keep_conn(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"").keep(false);
    let (mut conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Err(o) = well_formed(&conn, &resp) {
        return o;
    }
    match conn.closed_within(ctx.timeout).await {
        Ok(None) => Outcome::pass("closed after END_REQUEST"),
        Ok(Some(r)) => Outcome::fail(
            "the connection closed after END_REQUEST",
            format!(
                "another record: {} for id {}",
                r.record_type.name(),
                r.request_id
            ),
        ),
        Err(ConnError::Timeout) => Outcome::fail(
            "the connection closed after END_REQUEST",
            format!("still open {:.1}s later", ctx.timeout.as_secs_f64()),
        ),
        Err(e) => Outcome::fail("the connection closed after END_REQUEST", e.to_string()),
    }
}

// ---- §4 -----------------------------------------------------------------

async fn get_values_exchange(ctx: &Ctx, names: &[&[u8]]) -> Result<(Conn, Vec<u8>, u16), Outcome> {
    let mut c = ctx.conn("management").await?;
    let mut b = Vec::new();
    let _ = Encoder::default().get_values(names.iter().copied(), &mut b);
    send_or_fail(&mut c, &b).await?;
    match c.next_record().await {
        Ok(r) if r.record_type == RecordType::GetValuesResult => Ok((c, r.content, r.request_id)),
        Ok(r) => Err(Outcome::fail(
            "GET_VALUES_RESULT",
            format!("{} for id {}", r.record_type.name(), r.request_id),
        )),
        Err(e) => Err(Outcome::fail("GET_VALUES_RESULT", e.to_string())),
    }
}

async fn get_values(ctx: Ctx) -> Outcome {
    let names: [&[u8]; 3] = [
        management::MAX_CONNS.as_bytes(),
        management::MAX_REQS.as_bytes(),
        management::MPXS_CONNS.as_bytes(),
    ];
    let (_c, block, id) = match get_values_exchange(&ctx, &names).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if id != NULL_REQUEST_ID {
        return Outcome::fail("request id 0 (R-4-1)", format!("request id {id}"));
    }
    let mut seen = Vec::new();
    for p in name_value::pairs(&block) {
        let (n, v) = match p {
            Ok(p) => p,
            Err(e) => return Outcome::fail("well-formed name-value pairs", e.to_string()),
        };
        let name = String::from_utf8_lossy(n).into_owned();
        let value = String::from_utf8_lossy(v).into_owned();
        let ok = match n {
            b"FCGI_MPXS_CONNS" => value == "0" || value == "1",
            b"FCGI_MAX_CONNS" | b"FCGI_MAX_REQS" => {
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
            }
            _ => true,
        };
        if !ok {
            return Outcome::fail(
                format!("{name} as a decimal value (R-4.1-3)"),
                format!("{value:?}"),
            );
        }
        seen.push(format!("{name}={value}"));
    }
    if seen.is_empty() {
        return Outcome::info("answered with an empty GET_VALUES_RESULT (knows none of the three)");
    }
    Outcome::pass(seen.join(", "))
}

async fn get_values_unknown_name(ctx: Ctx) -> Outcome {
    let names: [&[u8]; 2] = [
        b"FCGI_CONFORMANCE_NO_SUCH_NAME",
        management::MPXS_CONNS.as_bytes(),
    ];
    let (_c, block, _) = match get_values_exchange(&ctx, &names).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    for p in name_value::pairs(&block) {
        match p {
            Ok((n, v))
                if !management::KNOWN_VARIABLES
                    .iter()
                    .any(|k| k.as_bytes() == n) =>
            {
                return Outcome::fail(
                    "unknown names left out of GET_VALUES_RESULT",
                    format!("{} = {}", String::from_utf8_lossy(n), dump_preview(v)),
                )
            }
            Ok(_) => {}
            Err(e) => return Outcome::fail("well-formed name-value pairs", e.to_string()),
        }
    }
    Outcome::pass("the unknown name was left out")
}

async fn get_values_mid_request(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"with management records");
    req.management_between = true;
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let answers = conn
        .received
        .iter()
        .filter(|r| r.record_type == RecordType::GetValuesResult)
        .count();
    match well_formed(&conn, &resp) {
        Ok(out) => {
            let o = same_as_sent(&ctx, &req, &out);
            if o.verdict == crate::case::Verdict::Pass {
                Outcome::pass(format!(
                    "{}; {answers} GET_VALUES_RESULT answers received before END_REQUEST",
                    o.detail
                ))
            } else {
                o
            }
        }
        Err(o) => o,
    }
}

async fn unknown_type(ctx: Ctx) -> Outcome {
    let mut c = match ctx.conn("unknown type").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut b = Vec::new();
    let _ = Encoder::default().record(
        RecordType::Unknown(99),
        NULL_REQUEST_ID,
        b"????????",
        &mut b,
    );
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    match c.next_record().await {
        Ok(r) if r.record_type == RecordType::UnknownType => {
            if r.request_id != NULL_REQUEST_ID {
                return Outcome::fail(
                    "UNKNOWN_TYPE with request id 0",
                    format!("request id {}", r.request_id),
                );
            }
            match UnknownTypeBody::parse(&r.content, 0) {
                Ok(b) if b.record_type == 99 => Outcome::pass("UNKNOWN_TYPE naming type 99"),
                Ok(b) => Outcome::fail(
                    "UNKNOWN_TYPE naming type 99",
                    format!("naming type {}", b.record_type),
                ),
                Err(e) => Outcome::fail("an 8-byte UNKNOWN_TYPE body (R-4.2-2)", e.to_string()),
            }
        }
        Ok(r) => Outcome::fail(
            "UNKNOWN_TYPE",
            format!("{} for id {}", r.record_type.name(), r.request_id),
        ),
        Err(e) => Outcome::fail("UNKNOWN_TYPE", e.to_string()),
    }
}

// ---- §5.1 ---------------------------------------------------------------

async fn unknown_role(ctx: Ctx) -> Outcome {
    let mut req = ctx.req(1, b"");
    req.role = Role::Unknown(99);
    let mut c = match ctx.conn("unknown role").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &req.bytes()).await {
        return o;
    }
    match c.response(1).await {
        Ok(resp) => match resp.end.map(|e| e.protocol_status) {
            Some(ProtocolStatus::UnknownRole) if resp.stdout.is_empty() => {
                Outcome::pass("END_REQUEST with FCGI_UNKNOWN_ROLE")
            }
            Some(ProtocolStatus::UnknownRole) => Outcome::fail(
                "FCGI_UNKNOWN_ROLE without serving",
                format!("{} STDOUT bytes before the refusal", resp.stdout.len()),
            ),
            Some(s) => Outcome::fail(
                "END_REQUEST with FCGI_UNKNOWN_ROLE",
                format!(
                    "protocolStatus {}({}), {} STDOUT bytes",
                    s.name(),
                    s.code(),
                    resp.stdout.len()
                ),
            ),
            None => Outcome::fail("END_REQUEST with FCGI_UNKNOWN_ROLE", "none"),
        },
        Err((e, partial)) => Outcome::fail(
            "END_REQUEST with FCGI_UNKNOWN_ROLE",
            format!("{e} ({} STDOUT bytes)", partial.stdout.len()),
        ),
    }
}

async fn keep_conn(ctx: Ctx) -> Outcome {
    let mut c = match ctx.conn("keep-conn").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    for round in 1..=2 {
        let req = echo_req(&ctx, format!("round {round}").as_bytes()).keep(true);
        if let Err(e) = c.send(&req.bytes()).await {
            return Outcome::fail(
                format!("request {round} accepted on the kept connection"),
                e.to_string(),
            );
        }
        let resp = match c.response(1).await {
            Ok(r) => r,
            Err((e, partial)) => {
                return Outcome::fail(
                    format!("END_REQUEST for request {round} on the kept connection"),
                    format!("{e} ({} STDOUT bytes)", partial.stdout.len()),
                )
            }
        };
        match well_formed(&c, &resp) {
            Ok(out) => {
                let o = same_as_sent(&ctx, &req, &out);
                if o.verdict != crate::case::Verdict::Pass {
                    return o;
                }
            }
            Err(o) => return o,
        }
    }
    Outcome::pass("two requests served on one kept connection, id 1 reused")
}

// ---- §5.3 ---------------------------------------------------------------

async fn stdout_ended(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"");
    match ctx.serve(&req, None).await {
        Ok((_, resp)) if resp.stdout_ended => Outcome::pass(format!(
            "{} STDOUT records, the last empty",
            resp.stdout_records
        )),
        Ok((_, resp)) => Outcome::fail(
            "an empty STDOUT record before END_REQUEST",
            format!("{} STDOUT records, none empty", resp.stdout_records),
        ),
        Err(o) => o,
    }
}

async fn empty_stdin(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    served_alike(ctx, req, None).await
}

async fn large_stdin(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, &varied(4 << 20));
    served_alike(ctx, req, None).await
}

async fn large_response(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip(
            "needs the echo contract (docs/echo-contract.md) to ask for a large response",
        );
    }
    let big = 1usize << 20;
    let req = echo_req(&ctx, b"").param("ECHO_BIG", big.to_string());
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let out = match well_formed(&conn, &resp) {
        Ok(o) => o,
        Err(o) => return o,
    };
    match parse_echo(&out.body) {
        Some(e) if e.tail.len() == big && e.tail.iter().all(|&b| b == b'x') => {
            Outcome::pass(format!(
                "{} body bytes in {} STDOUT records",
                out.body.len(),
                resp.stdout_records
            ))
        }
        Some(e) => Outcome::fail(
            format!("{big} filler bytes"),
            format!("{} bytes", e.tail.len()),
        ),
        None => Outcome::fail(
            "a body in the echo contract's form",
            dump_preview(&out.body),
        ),
    }
}

async fn stderr(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip("needs the echo contract to ask for STDERR output");
    }
    let req = echo_req(&ctx, b"").param("ECHO_STDERR", "conformance-stderr-line");
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Err(o) = well_formed(&conn, &resp) {
        return o;
    }
    let found = resp
        .stderr
        .windows(b"conformance-stderr-line".len())
        .any(|w| w == b"conformance-stderr-line");
    let what = format!(
        "STDERR: {} bytes{}",
        resp.stderr.len(),
        if found {
            " holding the line asked for"
        } else {
            ", without the line asked for"
        },
    );
    // OQ-26: an unended STDERR breaks R-5.3-1, but widely deployed
    // applications leave it open; the suite warns rather than fails.
    match (resp.stderr.is_empty(), resp.stderr_ended) {
        (true, _) => Outcome::info(format!("{what}; nothing was written on STDERR")),
        (false, true) => Outcome::pass(format!("{what}; STDERR ended by an empty record")),
        (false, false) => Outcome::warn(
            "STDERR ended by an empty record once begun (R-5.3-1, OQ-26)",
            format!("{what}; STDERR never ended"),
        ),
    }
}

// ---- §5.4 ---------------------------------------------------------------

async fn abort_at(ctx: &Ctx, head: Vec<u8>, label: &str) -> Outcome {
    let mut c = match ctx.conn(label).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut b = head;
    let _ = Encoder::default().abort_request(1, &mut b);
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    match c.response(1).await {
        Ok(resp) => match resp.end {
            Some(e) => {
                if let Some(v) = c.violations.first() {
                    return Outcome::fail("well-formed records after the abort", v.to_string());
                }
                Outcome::pass(format!(
                    "END_REQUEST {}({}), appStatus {}",
                    e.protocol_status.name(),
                    e.protocol_status.code(),
                    e.app_status
                ))
            }
            None => Outcome::fail("END_REQUEST after ABORT_REQUEST", "none"),
        },
        Err((e, partial)) => Outcome::fail(
            "END_REQUEST after ABORT_REQUEST (R-5.4-1)",
            format!("{e} ({} STDOUT bytes)", partial.stdout.len()),
        ),
    }
}

async fn abort_after_begin(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    abort_at(&ctx, req.begin_bytes(), "abort after begin").await
}

async fn abort_after_params(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    let mut b = req.begin_bytes();
    b.extend(req.params_bytes());
    abort_at(&ctx, b, "abort after params").await
}

async fn abort_during_stdin(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, &varied(4096)).keep(true);
    let mut b = req.begin_bytes();
    b.extend(req.params_bytes());
    let mut half = Vec::new();
    let _ = Encoder::default().stream(
        RecordType::Stdin,
        1,
        req.stdin.get(..2048).unwrap_or_default(),
        &mut half,
    );
    b.extend(half);
    abort_at(&ctx, b, "abort during stdin").await
}

async fn abort_during_response(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip("needs the echo contract to ask for a long response");
    }
    let req = echo_req(&ctx, b"")
        .keep(true)
        .param("ECHO_BIG", (4usize << 20).to_string());
    let mut c = match ctx.conn("abort during response").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &req.bytes()).await {
        return o;
    }
    // Wait for the first STDOUT record, then abort.
    match c.next_record().await {
        Ok(r) if r.record_type == RecordType::Stdout && r.request_id == 1 => {}
        Ok(r) if r.record_type == RecordType::EndRequest => {
            return Outcome::info("the whole response arrived before an abort could be sent")
        }
        Ok(r) => {
            return Outcome::fail(
                "STDOUT for request 1",
                format!("{} for id {}", r.record_type.name(), r.request_id),
            )
        }
        Err(e) => return Outcome::fail("STDOUT for request 1", e.to_string()),
    }
    let mut a = Vec::new();
    let _ = Encoder::default().abort_request(1, &mut a);
    if let Err(o) = send_or_fail(&mut c, &a).await {
        return o;
    }
    match c.response(1).await {
        Ok(resp) => {
            let ends = c
                .received
                .iter()
                .filter(|r| r.record_type == RecordType::EndRequest && r.request_id == 1)
                .count();
            if ends != 1 {
                return Outcome::fail("exactly one END_REQUEST", format!("{ends}"));
            }
            if let Some(v) = c.violations.first() {
                return Outcome::fail("well-formed records after the abort", v.to_string());
            }
            let full = (4usize << 20) as f64;
            Outcome::pass(format!(
                "END_REQUEST after {:.0}% of the response",
                100.0 * (resp.stdout.len() as f64) / full
            ))
        }
        Err((e, partial)) => Outcome::fail(
            "END_REQUEST after ABORT_REQUEST (R-5.4-1)",
            format!("{e} after {} STDOUT bytes", partial.stdout.len()),
        ),
    }
}

/// Sends two requests interleaved record by record on one connection.
async fn interleaved(
    ctx: &Ctx,
    n: u16,
    label: &str,
) -> Result<(Conn, Vec<Req>, Vec<super::conn::Response>), Outcome> {
    let reqs: Vec<Req> = (1..=n)
        .map(|id| {
            Req::responder(id, &ctx.params, format!("body of {id}").as_bytes())
                .param("ECHO_ID", id.to_string())
                .keep(true)
        })
        .collect();
    let parts: Vec<Vec<Vec<u8>>> = reqs.iter().map(Req::records).collect();
    let longest = parts.iter().map(Vec::len).max().unwrap_or(0);
    let mut wire = Vec::new();
    for i in 0..longest {
        for p in &parts {
            if let Some(r) = p.get(i) {
                wire.extend_from_slice(r);
            }
        }
    }
    let mut c = ctx.conn(label).await?;
    send_or_fail(&mut c, &wire).await?;
    let ids: Vec<u16> = (1..=n).collect();
    match c.responses(&ids).await {
        Ok(resps) => Ok((c, reqs, resps)),
        Err((e, partial)) => {
            let done: Vec<String> = partial
                .iter()
                .zip(&ids)
                .filter(|(r, _)| r.end.is_some())
                .map(|(_, id)| id.to_string())
                .collect();
            Err(Outcome::fail(
                format!("END_REQUEST for each of ids 1..={n}"),
                format!("{e}; ended: [{}]", done.join(", ")),
            ))
        }
    }
}

/// Judges interleaved responses: each served under its own id or refused
/// with CANT_MPX_CONN. Returns (served, refused) or a failure.
fn judge_interleaved(
    ctx: &Ctx,
    c: &Conn,
    reqs: &[Req],
    resps: &[super::conn::Response],
) -> Result<(usize, usize), Outcome> {
    if let Some(v) = c.violations.first() {
        return Err(Outcome::fail(
            "records under the right ids, well-formed",
            v.to_string(),
        ));
    }
    let mut served = 0;
    let mut refused = 0;
    for (req, resp) in reqs.iter().zip(resps) {
        match resp.end.map(|e| e.protocol_status) {
            Some(ProtocolStatus::CantMpxConn) | Some(ProtocolStatus::Overloaded) => refused += 1,
            Some(ProtocolStatus::RequestComplete) => {
                let out = well_formed(c, resp)?;
                if ctx.probed.echo {
                    let Some(echo) = parse_echo(&out.body) else {
                        return Err(Outcome::fail("an echo body", dump_preview(&out.body)));
                    };
                    let o = compare_echo(req, &echo);
                    if o.verdict != crate::case::Verdict::Pass {
                        return Err(Outcome::fail(
                            format!("request {} answered with its own params and body", req.id),
                            o.actual.unwrap_or(o.detail),
                        ));
                    }
                }
                served += 1;
            }
            other => {
                return Err(Outcome::fail(
                    "FCGI_REQUEST_COMPLETE or FCGI_CANT_MPX_CONN",
                    format!("{other:?} for request {}", req.id),
                ))
            }
        }
    }
    Ok((served, refused))
}

async fn abort_spares_others(ctx: Ctx) -> Outcome {
    if ctx.probed.mpxs_conns != Some(true) {
        return Outcome::skip(
            "the application does not say it multiplexes (FCGI_MPXS_CONNS is not 1)",
        );
    }
    let a = echo_req(&ctx, b"").keep(true);
    let mut b = Req::responder(2, &ctx.params, b"second body")
        .param("ECHO_ID", "2")
        .keep(true);
    b.params_record_size = Some(64);
    let mut wire = a.begin_bytes();
    wire.extend(b.begin_bytes());
    wire.extend(a.params_bytes());
    let _ = Encoder::default().abort_request(1, &mut wire);
    wire.extend(b.bytes().get(b.begin_bytes().len()..).unwrap_or_default());
    let mut c = match ctx.conn("abort one of two").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &wire).await {
        return o;
    }
    let resps = match c.responses(&[1, 2]).await {
        Ok(r) => r,
        Err((e, _)) => return Outcome::fail("END_REQUEST for both requests", e.to_string()),
    };
    let Some(second) = resps.get(1) else {
        return Outcome::fail("two responses", "fewer");
    };
    match well_formed(&c, second) {
        Ok(out) => {
            let o = same_as_sent(&ctx, &b, &out);
            if o.verdict == crate::case::Verdict::Pass {
                Outcome::pass("request 1 aborted and ended; request 2 served in full")
            } else {
                o
            }
        }
        Err(o) => o,
    }
}

// ---- §5.5 ---------------------------------------------------------------

async fn end_request_body(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"");
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let Some(end) = conn
        .received
        .iter()
        .find(|r| r.record_type == RecordType::EndRequest)
    else {
        return Outcome::fail("END_REQUEST", "none");
    };
    if end.content.len() != 8 {
        return Outcome::fail(
            "an 8-byte END_REQUEST body",
            format!("{} bytes", end.content.len()),
        );
    }
    match resp.end {
        Some(e) if e.protocol_status == ProtocolStatus::RequestComplete => Outcome::pass(format!(
            "8-byte body, REQUEST_COMPLETE, appStatus {}",
            e.app_status
        )),
        Some(e) => Outcome::fail(
            "FCGI_REQUEST_COMPLETE",
            format!("{}({})", e.protocol_status.name(), e.protocol_status.code()),
        ),
        None => Outcome::fail("END_REQUEST", "none"),
    }
}

async fn nothing_after_end(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"").keep(true);
    let (mut conn, _resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match conn.next_record_within(short(ctx.timeout)).await {
        Ok(r) => Outcome::fail(
            "nothing for request 1 after its END_REQUEST",
            format!("{} for id {}", r.record_type.name(), r.request_id),
        ),
        Err(ConnError::Timeout) | Err(ConnError::Closed) => match conn.violations.first() {
            Some(v) => Outcome::fail("well-formed records", v.to_string()),
            None => Outcome::pass(format!(
                "nothing more within {:.2}s",
                short(ctx.timeout).as_secs_f64()
            )),
        },
        Err(e) => Outcome::fail("nothing after END_REQUEST", e.to_string()),
    }
}

async fn interleaved_two(ctx: Ctx) -> Outcome {
    let (c, reqs, resps) = match interleaved(&ctx, 2, "two interleaved").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match judge_interleaved(&ctx, &c, &reqs, &resps) {
        Ok((served, refused)) => Outcome::pass(format!(
            "{served} served, {refused} refused with CANT_MPX_CONN"
        )),
        Err(o) => o,
    }
}

async fn interleaved_many(ctx: Ctx) -> Outcome {
    let (c, reqs, resps) = match interleaved(&ctx, 8, "eight interleaved").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match judge_interleaved(&ctx, &c, &reqs, &resps) {
        Ok((served, refused)) => Outcome::pass(format!("{served} served, {refused} refused")),
        Err(o) => o,
    }
}

async fn mpxs_consistent(ctx: Ctx) -> Outcome {
    let Some(says) = ctx.probed.mpxs_conns else {
        return Outcome::skip("the application did not answer FCGI_MPXS_CONNS");
    };
    let (c, reqs, resps) = match interleaved(&ctx, 2, "mpxs check").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let (served, refused) = match judge_interleaved(&ctx, &c, &reqs, &resps) {
        Ok(x) => x,
        Err(o) => return o,
    };
    match (says, refused) {
        (true, 0) => Outcome::pass("says FCGI_MPXS_CONNS=1 and served both interleaved requests"),
        (true, _) => Outcome::warn(
            "both interleaved requests served, as FCGI_MPXS_CONNS=1 promises",
            format!("{served} served, {refused} refused"),
        ),
        (false, 0) => Outcome::info("says FCGI_MPXS_CONNS=0 yet served both interleaved requests"),
        (false, _) => Outcome::pass("says FCGI_MPXS_CONNS=0 and refused the second request"),
    }
}

// ---- §6 -----------------------------------------------------------------

async fn responder(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"name=value&x=1").param("ECHO_HELLO", "world");
    served_alike(ctx, req, None).await
}

async fn authorizer(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"");
    req.role = Role::Authorizer;
    req.params
        .retain(|(n, _)| n != b"CONTENT_LENGTH" && n != b"SCRIPT_NAME");
    let (c, resp) = match exchange(&ctx, &req.bytes(), 1, "authorizer").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if resp.end.map(|e| e.protocol_status) == Some(ProtocolStatus::UnknownRole) {
        return Outcome::info("refuses the Authorizer role with FCGI_UNKNOWN_ROLE");
    }
    match well_formed(&c, &resp) {
        Ok(out) => {
            let vars: Vec<String> = out
                .headers
                .iter()
                .filter(|(n, _)| {
                    n.len() > 9
                        && n.get(..9)
                            .is_some_and(|p| p.eq_ignore_ascii_case("Variable-"))
                })
                .map(|(n, _)| n.clone())
                .collect();
            Outcome::pass(format!(
                "served: status {}, {} Variable- header(s){}",
                out.status,
                vars.len(),
                if vars.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", vars.join(", "))
                }
            ))
        }
        Err(o) => o,
    }
}

async fn filter(ctx: Ctx) -> Outcome {
    let data = varied(3000);
    let mut req = echo_req(&ctx, b"filter stdin")
        .param("FCGI_DATA_LENGTH", data.len().to_string())
        .param("FCGI_DATA_LAST_MOD", "1700000000");
    req.role = Role::Filter;
    req.data = Some(data.clone());
    let (c, resp) = match exchange(&ctx, &req.bytes(), 1, "filter").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if resp.end.map(|e| e.protocol_status) == Some(ProtocolStatus::UnknownRole) {
        return Outcome::info("refuses the Filter role with FCGI_UNKNOWN_ROLE");
    }
    let out = match well_formed(&c, &resp) {
        Ok(o) => o,
        Err(o) => return o,
    };
    if !ctx.probed.echo {
        return Outcome::pass(format!("served: status {}", out.status));
    }
    match parse_echo(&out.body) {
        Some(e) => match e.data {
            Some(d) if d == data => Outcome::pass("served; FCGI_DATA came back unchanged"),
            Some(d) => Outcome::fail(
                format!("{} DATA bytes echoed", data.len()),
                format!("{} bytes", d.len()),
            ),
            None => Outcome::pass(format!(
                "served: status {} (the echo does not cover DATA)",
                out.status
            )),
        },
        None => Outcome::pass(format!(
            "served: status {} (body not in the echo form)",
            out.status
        )),
    }
}

// ---- further edges -------------------------------------------------------

/// Rewrites every record header in `bytes` (well-formed, our own) with `f`.
fn map_headers(bytes: &mut [u8], f: impl Fn(&mut [u8])) {
    let mut at = 0usize;
    while let Some(h) = bytes.get(at..).and_then(Header::from_slice) {
        if let Some(hdr) = bytes.get_mut(at..at + 8) {
            f(hdr);
        }
        at += h.record_len();
    }
}

/// Sends `wire` on a fresh connection and reads request `id`'s response.
async fn exchange(
    ctx: &Ctx,
    wire: &[u8],
    id: u16,
    label: &str,
) -> Result<(Conn, super::conn::Response), Outcome> {
    let mut c = ctx.conn(label).await?;
    send_or_fail(&mut c, wire).await?;
    match c.response(id).await {
        Ok(r) => Ok((c, r)),
        Err((e, partial)) => Err(no_end(id, &e, &partial)),
    }
}

async fn send_and_judge(ctx: &Ctx, req: &Req, wire: &[u8], label: &str) -> Outcome {
    let (c, resp) = match exchange(ctx, wire, req.id, label).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match well_formed(&c, &resp) {
        Ok(out) => same_as_sent(ctx, req, &out),
        Err(o) => o,
    }
}

async fn padding_garbage(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"garbage padding");
    req.padding = Padding::Fixed(7);
    let mut wire = req.bytes();
    // Fill every padding byte with 0xff.
    let mut at = 0usize;
    while let Some(h) = wire.get(at..).and_then(Header::from_slice) {
        let start = at + 8 + usize::from(h.content_length);
        let end = start + usize::from(h.padding_length);
        if let Some(p) = wire.get_mut(start..end) {
            p.fill(0xff);
        }
        at += h.record_len();
    }
    send_and_judge(&ctx, &req, &wire, "padding garbage").await
}

fn soften(o: Outcome) -> Outcome {
    if o.verdict == crate::case::Verdict::Fail {
        Outcome::warn(o.expected.unwrap_or_default(), o.actual.unwrap_or(o.detail))
    } else {
        o
    }
}

async fn reserved_nonzero(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"reserved byte");
    let mut wire = req.bytes();
    map_headers(&mut wire, |h| {
        if let Some(b) = h.get_mut(7) {
            *b = 0x5a;
        }
    });
    soften(send_and_judge(&ctx, &req, &wire, "reserved byte").await)
}

async fn reserved_flags(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"reserved flags");
    let mut wire = req.bytes();
    // BEGIN_REQUEST is the first record: flags at byte 10, reserved 11..16.
    if let Some(b) = wire.get_mut(10) {
        *b = 0xfe;
    }
    if let Some(r) = wire.get_mut(11..16) {
        r.copy_from_slice(&[1, 2, 3, 4, 5]);
    }
    soften(send_and_judge(&ctx, &req, &wire, "reserved flags").await)
}

async fn concurrent_connections(ctx: Ctx) -> Outcome {
    let first = echo_req(&ctx, b"first");
    let mut a = match ctx.conn("held").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    // Hold the first connection mid-request: BEGIN and PARAMS, no STDIN end.
    let mut held = first.begin_bytes();
    held.extend(first.params_bytes());
    if let Err(o) = send_or_fail(&mut a, &held).await {
        return o;
    }
    let second = echo_req(&ctx, b"second");
    let mut b = match ctx.conn("second").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut b, &second.bytes()).await {
        return o;
    }
    let outcome = match b.response(1).await {
        Ok(r) if r.end.is_some() => Outcome::pass("a second connection was served while the first was mid-request"),
        Ok(_) => Outcome::info("the second connection got no END_REQUEST"),
        Err((e, _)) => Outcome::info(format!(
            "the second connection was not served while the first was mid-request ({e}): the application serves one connection at a time"
        )),
    };
    a.shutdown().await;
    outcome
}

async fn abort_inactive_id(ctx: Ctx) -> Outcome {
    let mut stray = Vec::new();
    let _ = Encoder::default().abort_request(9, &mut stray);
    stray_then_served(&ctx, stray, 9, "stray abort").await
}

async fn management_nonzero_id(ctx: Ctx) -> Outcome {
    let mut c = match ctx.conn("management id 1").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let block = management::query([management::MPXS_CONNS.as_bytes()]).unwrap_or_default();
    let mut b = Vec::new();
    let _ = Encoder::default().record(RecordType::GetValues, 1, &block, &mut b);
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    let what = reaction(&mut c, short(ctx.timeout)).await;
    Outcome::info(format!(
        "on GET_VALUES with request id 1 the application {what}"
    ))
}

async fn begin_active_id(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    let mut wire = req.begin_bytes();
    wire.extend(req.begin_bytes());
    match hostile(&ctx, &wire, true).await {
        Ok(what) => Outcome::info(format!(
            "on a second BEGIN_REQUEST for active id 1 the application {what}"
        )),
        Err(o) => o,
    }
}

async fn params_empty(ctx: Ctx) -> Outcome {
    let mut req = ctx.req(1, b"");
    req.params.clear();
    let mut c = match ctx.conn("no params").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &req.bytes()).await {
        return o;
    }
    match c.response(1).await {
        Ok(resp) => match resp.end {
            Some(e) => Outcome::pass(format!(
                "ended with {}({}) after {} STDOUT bytes",
                e.protocol_status.name(),
                e.protocol_status.code(),
                resp.stdout.len()
            )),
            None => Outcome::fail("END_REQUEST", "none"),
        },
        Err((e, partial)) => no_end(1, &e, &partial),
    }
}

async fn params_duplicates(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip("needs the echo contract to see which value the application keeps");
    }
    let mut req = echo_req(&ctx, b"");
    req.params.push((b"ECHO_DUP".to_vec(), b"first".to_vec()));
    req.params.push((b"ECHO_DUP".to_vec(), b"second".to_vec()));
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let out = match well_formed(&conn, &resp) {
        Ok(o) => o,
        Err(o) => return o,
    };
    match parse_echo(&out.body).and_then(|e| e.params.get("ECHO_DUP").cloned()) {
        Some(v) => Outcome::info(format!("of two ECHO_DUP params the application kept {v:?}")),
        None => Outcome::info("the duplicated param did not come back"),
    }
}

async fn extra_empty_record(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    let mut wire = req.bytes();
    let _ = Encoder::default().end_stream(RecordType::Stdin, 1, &mut wire);
    let mut c = match ctx.conn("extra empty record").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &wire).await {
        return o;
    }
    let served = match c.response(1).await {
        Ok(r) => r.end.is_some(),
        Err(_) => false,
    };
    let after = reaction(&mut c, short(ctx.timeout)).await;
    Outcome::info(format!(
        "{}; after the extra empty STDIN record the application {after}",
        if served {
            "the request was served"
        } else {
            "the request was not served"
        }
    ))
}

async fn unknown_application_type(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"with a type-20 record");
    let mut wire = req.begin_bytes();
    wire.extend(req.params_bytes());
    let _ = Encoder::default().record(RecordType::Unknown(20), 1, b"?", &mut wire);
    let (body, end) = req.stdin_parts();
    wire.extend(body);
    wire.extend(end);
    let mut c = match ctx.conn("type 20").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &wire).await {
        return o;
    }
    let answered = |c: &Conn| {
        c.received
            .iter()
            .any(|r| r.record_type == RecordType::UnknownType)
    };
    match c.response(1).await {
        Ok(resp) => Outcome::info(format!(
            "request {} ({}); {}",
            match resp.end.map(|e| e.protocol_status) {
                Some(ProtocolStatus::RequestComplete) => "served",
                Some(_) => "refused",
                None => "not ended",
            },
            if answered(&c) {
                "the type was answered with UNKNOWN_TYPE"
            } else {
                "no UNKNOWN_TYPE was sent"
            },
            match c.violations.first() {
                Some(v) => format!("violation: {v}"),
                None => "no violation".to_string(),
            }
        )),
        Err((e, _)) => Outcome::info(format!(
            "the request was not answered ({e}){}",
            if answered(&c) {
                " after an UNKNOWN_TYPE"
            } else {
                ""
            }
        )),
    }
}

async fn appendix_b_flows(ctx: Ctx) -> Outcome {
    // Flow 1: a GET, no body, params in one record.
    let get = ctx.req(1, b"").param("ECHO_FLOW", "1");
    let (c, r) = match ctx.serve(&get, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Err(o) = well_formed(&c, &r) {
        return o;
    }
    // A web server closes a connection it did not ask to keep; some
    // applications (libfcgi) linger until it does before accepting again.
    drop(c);
    // Flow 2: a POST whose body spans two STDIN records.
    let mut post = ctx.req(1, &varied(1200)).param("ECHO_FLOW", "2");
    post.stdin_record_size = Some(700);
    let (c, r) = match ctx.serve(&post, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match well_formed(&c, &r) {
        Ok(out) => {
            let o = same_as_sent(&ctx, &post, &out);
            if o.verdict != crate::case::Verdict::Pass {
                return o;
            }
        }
        Err(o) => return o,
    }
    drop(c);
    // Flow 4: two requests multiplexed, only where the application says it can.
    if ctx.probed.mpxs_conns == Some(true) {
        let (c, reqs, resps) = match interleaved(&ctx, 2, "flow 4").await {
            Ok(x) => x,
            Err(o) => return o,
        };
        if let Err(o) = judge_interleaved(&ctx, &c, &reqs, &resps) {
            return o;
        }
        return Outcome::pass("flows 1, 2 and 4 answered in full");
    }
    Outcome::pass("flows 1 and 2 answered in full (flow 4 needs FCGI_MPXS_CONNS=1)")
}
