//! What several of the app suite's sections share: request builders, exchanges and verdict helpers.

use crate::app::conn::{Conn, ConnError};
use crate::app::ctx::{compare_echo, dump_preview, no_end, same_as_sent, well_formed, Ctx};
use crate::app::request::{parse_echo, Req};
use crate::case::Outcome;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::record::{Header, RecordType};
use fcgi_proto::stream::StreamType;
use std::time::Duration;

pub(crate) fn echo_req(ctx: &Ctx, body: &[u8]) -> Req {
    ctx.req(1, body).param("ECHO_CASE", "1")
}

pub(crate) async fn served_alike(ctx: Ctx, req: Req, chop: Option<usize>) -> Outcome {
    let (conn, resp) = match ctx.serve(&req, chop).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match well_formed(&conn, &resp) {
        Ok(out) => same_as_sent(&ctx, &req, &out),
        Err(o) => o,
    }
}

/// Bytes `i * 7 + i / 251` (mod 256): no short repeat, so that a byte out
/// of place is seen.
pub(crate) fn varied(n: usize) -> Vec<u8> {
    // The sequence repeats every 251 * 128 bytes (each block of 251 adds
    // 222 mod 256, whose order is 128): one period is computed, the rest
    // copied, which keeps a 4 MiB body cheap in a debug build.
    const PERIOD: usize = 251 * 128;
    let period: Vec<u8> = (0..PERIOD.min(n))
        .map(|i| (i * 7 + i / 251) as u8)
        .collect();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let take = (n - out.len()).min(period.len());
        out.extend_from_slice(period.get(..take).unwrap_or_default());
    }
    out
}

/// The first byte of `got` that is not [`varied`]'s, or `None` when `got`
/// is `varied(got.len())`: checks an echo against the formula instead of
/// a kept copy of the body sent.
pub(crate) fn varied_difference(got: &[u8]) -> Option<usize> {
    got.iter()
        .enumerate()
        .position(|(i, &b)| b != (i * 7 + i / 251) as u8)
}

pub(crate) async fn send_or_fail(c: &mut Conn, bytes: &[u8]) -> Result<(), Outcome> {
    c.send(bytes)
        .await
        .map_err(|e| Outcome::fail("the bytes to be accepted", e.to_string()))
}

pub(crate) fn short(d: Duration) -> Duration {
    (d / 4).max(Duration::from_millis(100))
}

/// BEGIN_REQUEST and `req`'s PARAMS content, without the empty record
/// that would end PARAMS (R-5.2-1): for the cases that hold PARAMS open.
pub(crate) fn begin_and_open_params(req: &Req) -> Vec<u8> {
    let mut head = req.begin_bytes();
    let _ = Encoder::default().stream(StreamType::Params, req.id, &req.params_block(), &mut head);
    head
}

/// After a pause with PARAMS held open: the empty PARAMS record and the
/// STDIN stream sent, then the answer read and judged as the echo of what
/// was sent (the outcome of [`same_as_sent`]).
pub(crate) async fn end_params_and_judge(ctx: &Ctx, c: &mut Conn, req: &Req) -> Outcome {
    let mut rest = Vec::new();
    let _ = Encoder::default().end_stream(StreamType::Params, req.id, &mut rest);
    let (body, end) = req.stdin_parts();
    rest.extend(body);
    rest.extend(end);
    if let Err(o) = send_or_fail(c, &rest).await {
        return o;
    }
    let resp = match c.response(req.id).await {
        Ok(r) => r,
        Err((e, partial)) => return no_end(req.id, &e, &partial),
    };
    match well_formed(c, &resp) {
        Ok(out) => same_as_sent(ctx, req, &out),
        Err(o) => o,
    }
}

/// Round trips of the baseline request a "nothing may come before ..."
/// wait lasts ([`held_open`]).
const HELD_OPEN_ROUND_TRIPS: u32 = 20;

/// How long a case holds a stream open and waits for output that must not
/// come yet (R-6.2-4): 20 times the target's own baseline round trip
/// (connect to END_REQUEST, measured by the setup probe), so an
/// application that acts early has twenty times what it took to answer a
/// whole request to show it; at least 100 ms, and never longer than
/// [`short`] of the timeout, which is also the wait when no round trip was
/// measured. No barrier can stand in here: a GET_VALUES sent while PARAMS
/// is open changes what some applications do (php-fpm and php-cgi then
/// start the script early), so the wait is a quiet period, sized by the
/// target's pace rather than a fixed fraction of the timeout.
pub(crate) fn held_open(timeout: Duration, round_trip: Option<Duration>) -> Duration {
    paced(timeout, round_trip, Duration::from_millis(100))
}

/// Twenty baseline round trips, at least `floor` and at most [`short`] of
/// the timeout, which is also the wait when no round trip was measured:
/// the pace of [`held_open`] and [`settle`].
fn paced(timeout: Duration, round_trip: Option<Duration>, floor: Duration) -> Duration {
    let cap = short(timeout);
    match round_trip {
        Some(rt) => rt
            .saturating_mul(HELD_OPEN_ROUND_TRIPS)
            .clamp(floor.min(cap), cap),
        None => cap,
    }
}

/// How long [`read_past`] reads on after its barrier is answered, for
/// what workers apart from the application's reader write late: twenty
/// baseline round trips, as [`held_open`], since a worker finishing an
/// ended request does less than the whole request the round trip
/// measured; at least [`SETTLE_FLOOR`] and at most [`short`] of the
/// timeout, which is also the wait when no round trip was measured.
/// Without it a second END_REQUEST from such a worker was seen in 27 of
/// 30 runs of app/5.4/abort-during-stdin against Go's net/http/fcgi.
pub(crate) fn settle(timeout: Duration, round_trip: Option<Duration>) -> Duration {
    paced(timeout, round_trip, SETTLE_FLOOR)
}

/// The shortest [`settle`]: it is waited once per case that counts
/// END_REQUESTs, most of them cases run alone, so it is kept below
/// [`held_open`]'s 100 ms (ten of them are a quarter second of a suite
/// that takes under half a second against the reference application).
const SETTLE_FLOOR: Duration = Duration::from_millis(25);

/// Most records [`read_on`] takes before it stops looking.
const READ_ON_RECORDS: usize = 4096;

/// Reads on after the END_REQUESTs a case waited for, so that whatever
/// follows them (a second END_REQUEST, output for an ended id) is seen and
/// judged: until the application closes, or sends nothing for `quiet`, or
/// `limit` has passed (a trickle cannot hold the case), at most
/// [`READ_ON_RECORDS`] records. Returns whether the application closed.
pub(crate) async fn read_on(c: &mut Conn, quiet: Duration, limit: Duration) -> bool {
    let end = tokio::time::Instant::now() + limit;
    for _ in 0..READ_ON_RECORDS {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        match c.next_record_within(quiet.min(left)).await {
            Ok(_) => {}
            Err(ConnError::Closed) | Err(ConnError::Io(_)) => return true,
            Err(_) => return false,
        }
    }
    false
}

/// What ended [`read_past`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Past {
    /// The application closed the connection.
    Closed,
    /// The barrier's GET_VALUES_RESULT arrived and a [`settle`] period
    /// after it passed with nothing more.
    Barrier,
    /// Nothing arrived for a quiet period (or the limit passed).
    Quiet,
}

impl Past {
    /// How the reading ended, in words, for a case's detail.
    pub(crate) fn words(self, ctx: &Ctx) -> String {
        match self {
            Past::Closed => "before the application closed".into(),
            Past::Barrier => format!(
                "up to the answer to a GET_VALUES sent after END_REQUEST on the same connection and a quiet {:.2}s after it",
                settle(ctx.timeout, ctx.probed.round_trip).as_secs_f64()
            ),
            Past::Quiet => format!("within a quiet {:.2}s", short(ctx.timeout).as_secs_f64()),
        }
    }
}

/// Reads on after the END_REQUESTs a case waited for, so that whatever
/// follows them (a second END_REQUEST, output for an ended id) is seen and
/// judged. On a kept connection (`kept`) of a target that answers
/// GET_VALUES there ([`crate::app::ctx::Probed::barrier`]), a GET_VALUES is
/// sent and read up to its GET_VALUES_RESULT: an application answers the
/// records of one connection in the order it reads them, so what its
/// reader sent for the requests it had ended came before. That orders only
/// the reader's own writes: an application whose workers write apart from
/// the reader (Go's net/http/fcgi runs each request's handler in its own
/// goroutine, which writes its END_REQUEST after an abort the reader has
/// already answered) can send after the barrier. So the reading goes on
/// after it until a [`settle`] period passes with nothing received.
/// Otherwise, or if the barrier goes unanswered, the reading stops at the
/// close or a quiet period ([`read_on`]). Bounded by the timeout in all.
pub(crate) async fn read_past(ctx: &Ctx, c: &mut Conn, kept: bool) -> Past {
    let quiet = short(ctx.timeout);
    if !(kept && ctx.probed.barrier) {
        return if read_on(c, quiet, ctx.timeout).await {
            Past::Closed
        } else {
            Past::Quiet
        };
    }
    if c.send(&crate::app::conn::barrier_bytes()).await.is_err() {
        return if read_on(c, quiet, ctx.timeout).await {
            Past::Closed
        } else {
            Past::Quiet
        };
    }
    let end = tokio::time::Instant::now() + ctx.timeout;
    for _ in 0..READ_ON_RECORDS {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Past::Quiet;
        }
        match c.next_record_within(quiet.min(left)).await {
            Ok(r) if r.record_type == RecordType::GetValuesResult => {
                // The barrier orders what the reader wrote; a worker apart
                // from it gets a settle period to show what it writes late.
                let left = end.saturating_duration_since(tokio::time::Instant::now());
                return if read_on(c, settle(ctx.timeout, ctx.probed.round_trip), left).await {
                    Past::Closed
                } else {
                    Past::Barrier
                };
            }
            Ok(_) => {}
            Err(ConnError::Closed) | Err(ConnError::Io(_)) => return Past::Closed,
            Err(_) => return Past::Quiet,
        }
    }
    Past::Quiet
}

/// END_REQUEST records received for `id` over the life of the connection.
pub(crate) fn end_count(c: &Conn, id: u16) -> usize {
    c.received
        .iter()
        .filter(|r| r.record_type == RecordType::EndRequest && r.request_id == id)
        .count()
}

/// Request `id`'s response folded from every record received on `c` up to
/// its first END_REQUEST, for cases that read records one by one before
/// waiting for the end.
pub(crate) fn response_from(c: &Conn, id: u16) -> crate::app::conn::Response {
    let mut resp = crate::app::conn::Response::default();
    let b = crate::bounds::Bounds::default();
    for r in c.received.iter().filter(|r| r.request_id == id) {
        if resp.absorb(r, b.stdout_kept, b.stderr_kept) {
            break;
        }
    }
    resp
}

/// Exactly one END_REQUEST for each of `ids` (R-5.5-5), judged only after
/// reading on past them ([`read_past`]: a barrier, the close or a quiet
/// period), never at the first END_REQUEST. Each id must have been begun
/// once on `c`, with FCGI_KEEP_CONN.
pub(crate) async fn one_end_each(ctx: &Ctx, c: &mut Conn, ids: &[u16]) -> Result<(), Outcome> {
    read_past(ctx, c, true).await;
    for &id in ids {
        let n = end_count(c, id);
        if n != 1 {
            return Err(Outcome::fail(
                "exactly one END_REQUEST per request id (R-5.5-5)",
                format!("{n} END_REQUEST records for id {id}"),
            ));
        }
    }
    Ok(())
}

/// What a connection did after hostile bytes: closed, answered, or stayed silent.
pub(crate) async fn reaction(c: &mut Conn, wait: Duration) -> String {
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

pub(crate) async fn hostile(ctx: &Ctx, bytes: &[u8], then_close: bool) -> Result<String, Outcome> {
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

/// Records for an inactive id, then a request on the same connection: the
/// request is served and nothing is sent for the stray id (R-3.3-9).
pub(crate) async fn stray_then_served(
    ctx: &Ctx,
    stray: Vec<u8>,
    stray_id: u16,
    label: &str,
) -> Outcome {
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

pub(crate) async fn get_values_exchange(
    ctx: &Ctx,
    names: &[&[u8]],
) -> Result<(Conn, Vec<u8>, u16), Outcome> {
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

pub(crate) async fn abort_at(ctx: &Ctx, head: Vec<u8>, label: &str) -> Outcome {
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
                if let Err(o) = one_end_each(ctx, &mut c, &[1]).await {
                    return o;
                }
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

/// Sends two requests interleaved record by record on one connection.
pub(crate) async fn interleaved(
    ctx: &Ctx,
    n: u16,
    label: &str,
) -> Result<(Conn, Vec<Req>, Vec<crate::app::conn::Response>), Outcome> {
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
        Ok(resps) => {
            one_end_each(ctx, &mut c, &ids).await?;
            Ok((c, reqs, resps))
        }
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
pub(crate) fn judge_interleaved(
    ctx: &Ctx,
    c: &Conn,
    reqs: &[Req],
    resps: &[crate::app::conn::Response],
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
                    let Some(echo) = parse_echo(out.body) else {
                        return Err(Outcome::fail("an echo body", dump_preview(out.body)));
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

/// Rewrites every record header in `bytes` (well-formed, our own) with `f`.
pub(crate) fn map_headers(bytes: &mut [u8], f: impl Fn(&mut [u8])) {
    let mut at = 0usize;
    while let Some(h) = bytes.get(at..).and_then(Header::from_slice) {
        if let Some(hdr) = bytes.get_mut(at..at + 8) {
            f(hdr);
        }
        at += h.record_len();
    }
}

/// Sends `wire` on a fresh connection and reads request `id`'s response.
pub(crate) async fn exchange(
    ctx: &Ctx,
    wire: &[u8],
    id: u16,
    label: &str,
) -> Result<(Conn, crate::app::conn::Response), Outcome> {
    let mut c = ctx.conn(label).await?;
    send_or_fail(&mut c, wire).await?;
    match c.response(id).await {
        Ok(r) => Ok((c, r)),
        Err((e, partial)) => Err(no_end(id, &e, &partial)),
    }
}

pub(crate) async fn send_and_judge(ctx: &Ctx, req: &Req, wire: &[u8], label: &str) -> Outcome {
    let (c, resp) = match exchange(ctx, wire, req.id, label).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match well_formed(&c, &resp) {
        Ok(out) => same_as_sent(ctx, req, &out),
        Err(o) => o,
    }
}

pub(crate) fn soften(o: Outcome) -> Outcome {
    if o.verdict == crate::case::Verdict::Fail {
        Outcome::warn(o.expected.unwrap_or_default(), o.actual.unwrap_or(o.detail))
    } else {
        o
    }
}

#[cfg(test)]
mod tests {
    use super::{varied, varied_difference};

    #[test]
    fn varied_is_its_formula() {
        for n in [0, 1, 250, 251, 32127, 32128, 32129, 100_000, 4 << 20] {
            let want: Vec<u8> = (0..n).map(|i| (i * 7 + i / 251) as u8).collect();
            assert_eq!(varied(n), want, "n = {n}");
            assert_eq!(varied_difference(&want), None, "n = {n}");
        }
    }

    #[test]
    fn varied_difference_finds_the_first_changed_byte() {
        let mut v = varied(100_000);
        for at in [99_999, 40_000, 0] {
            v[at] ^= 1;
            assert_eq!(varied_difference(&v), Some(at));
        }
    }
}
