//! One closed-loop connection of `load`: it keeps up to `in_flight`
//! Responder requests open on one transport connection, writes them through
//! `fcgi_proto::connection::WebServer` and checks every record the
//! application sends with the same machine (§3.3, §5). STDOUT is counted,
//! never kept. After a violation, a timeout or a close the connection is
//! dropped and a fresh one opened, so that one bad answer does not stop the
//! run. The connection runs on the shared driver ([`crate::driver`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{RequestId, WebServer, WebServerConfig, WebServerEvent as Event};
use fcgi_proto::error::ErrorKind;
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;
use fcgi_proto::stream::StreamType;
use tokio::time::Instant;

use super::stats::Stats;
use crate::driver::{Driver, ReadError, Reader};
use crate::target::{self, Addr, Stream};

/// Consecutive failed connects after which a worker gives up.
const MAX_CONNECT_FAILURES: u32 = 3;
/// Bytes read at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Most STDOUT bytes one response may carry (counted, not kept).
pub(crate) const MAX_RESPONSE: u64 = 1 << 30;

/// What every worker shares: the request budget and the end of the run.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The application.
    pub addr: Addr,
    /// Requests at once on one connection (1 without multiplexing).
    pub in_flight: usize,
    /// The PARAMS block, encoded once.
    pub params_block: Vec<u8>,
    /// The body on STDIN.
    pub body: Vec<u8>,
    /// Bound on connecting and on each wait for a record.
    pub timeout: Duration,
    /// No request starts after this instant.
    pub deadline: Instant,
    /// Requests left to start (`u64::MAX` with `--duration`).
    pub budget: AtomicU64,
}

impl Plan {
    /// Whether no more requests start: past the deadline or out of budget.
    fn over(&self) -> bool {
        Instant::now() >= self.deadline || self.budget.load(Ordering::SeqCst) == 0
    }

    /// Takes one request from the budget; false once the run is over.
    fn claim(&self) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        self.budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Why a connection was given up.
enum Lost {
    /// The run is over and nothing is in flight.
    Done,
    /// Dropped after a violation, a timeout or a close; open another.
    Again,
}

/// Runs one worker to the end of the plan and returns what it counted.
pub(crate) async fn worker(plan: Arc<Plan>) -> Stats {
    let mut stats = Stats::new();
    let mut failures = 0;
    loop {
        if plan.over() {
            break;
        }
        let stream = match target::connect(&plan.addr, plan.timeout).await {
            Ok(s) => {
                failures = 0;
                s
            }
            Err(e) => {
                stats.error(if e.kind() == std::io::ErrorKind::TimedOut {
                    "connect-timeout"
                } else {
                    "connect-failed"
                });
                failures += 1;
                if failures >= MAX_CONNECT_FAILURES {
                    stats.note(format!(
                        "a connection gave up after {MAX_CONNECT_FAILURES} failed connects in a row: {e}"
                    ));
                    break;
                }
                continue;
            }
        };
        stats.connections += 1;
        match run_connection(&plan, stream, &mut stats).await {
            Lost::Done => break,
            Lost::Again => continue,
        }
    }
    stats
}

struct Open {
    started: Instant,
    stdout: u64,
}

/// Why reading stopped short.
enum Bad {
    /// The codec refused a record: a protocol violation.
    Violation(fcgi_proto::Error),
    /// A response passed [`MAX_RESPONSE`].
    TooLarge,
}

impl From<fcgi_proto::Error> for Bad {
    fn from(e: fcgi_proto::Error) -> Self {
        Bad::Violation(e)
    }
}

/// The next request id after `last`, skipping active ones: ids rotate
/// through 1..=65535 so that a record for a request that ended is seen as
/// such (R-5.5-4) instead of being taken for the next request's.
fn next_id(ws: &WebServer, last: u16) -> Option<RequestId> {
    (1..=u16::MAX)
        .map(|k| {
            let n = (u32::from(last) + u32::from(k) - 1) % u32::from(u16::MAX) + 1;
            u16::try_from(n).unwrap_or(1)
        })
        .filter_map(RequestId::new)
        .find(|id| !ws.is_active(*id))
}

async fn run_connection(plan: &Plan, stream: Stream, stats: &mut Stats) -> Lost {
    // END_REQUEST with STDOUT open is counted (below), not refused: the
    // response is whole, and refusing would drop the connection each time.
    let ws = WebServer::new(WebServerConfig::default().with_require_stdout_end(false));
    let (mut rd, mut wr) = Driver::new(stream, ws)
        .with_read_buffer(READ_CHUNK)
        .into_parts();
    let mut open: BTreeMap<RequestId, Open> = BTreeMap::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut written = 0usize;
    let mut last_heard = Instant::now();
    let mut last_id = 0u16;
    // Once no more requests start, the open ones get one timeout to end.
    let mut drain_until: Option<Instant> = None;
    loop {
        if drain_until.is_none() && plan.over() {
            drain_until = Some(Instant::now() + plan.timeout);
        }
        // Top up to in_flight requests (closed loop).
        while drain_until.is_none() && open.len() < plan.in_flight {
            if !plan.claim() {
                drain_until = Some(Instant::now() + plan.timeout);
                break;
            }
            let Some(id) = next_id(rd.party(), last_id) else {
                break;
            };
            last_id = id.get();
            let at = pending.len();
            if let Err(e) = write_request(rd.party_mut(), id, plan, &mut pending) {
                // Our own request did not encode: a bug or a limit, not the target's fault.
                pending.truncate(at);
                stats.error("request-not-encoded");
                stats.note(format!("a request could not be written: {e}"));
                return Lost::Done;
            }
            open.insert(
                id,
                Open {
                    started: Instant::now(),
                    stdout: 0,
                },
            );
            stats.started += 1;
        }
        if open.is_empty() {
            let _ = wr.shutdown().await;
            return Lost::Done;
        }
        if written == pending.len() && written > 0 {
            pending.clear();
            written = 0;
        }
        let idle_end = last_heard + plan.timeout;
        let hard_end = drain_until.unwrap_or(plan.deadline + plan.timeout);
        let wait_end = hard_end.min(idle_end);
        let wait = wait_end.saturating_duration_since(Instant::now());
        tokio::select! {
            n = wr.write_some(pending.get(written..).unwrap_or_default()), if written < pending.len() => match n {
                Ok(0) | Err(_) => {
                    fail_open(stats, &mut open, "write-failed");
                    return Lost::Again;
                }
                Ok(n) => {
                    written += n;
                    stats.bytes_out += n as u64;
                }
            },
            n = rd.fill() => match n {
                Ok(0) => {
                    let kind = match rd.finish() {
                        Err(e) => { stats.violation(&e); "closed-mid-record" }
                        Ok(()) => "closed-mid-response",
                    };
                    fail_open(stats, &mut open, kind);
                    return Lost::Again;
                }
                Ok(n) => {
                    last_heard = Instant::now();
                    stats.bytes_in += n as u64;
                    match take_records(&mut rd, &mut open, stats) {
                        Ok(()) => {}
                        Err(Bad::Violation(e)) => {
                            stats.violation(&e);
                            fail_open(stats, &mut open, "dropped-after-violation");
                            return Lost::Again;
                        }
                        Err(Bad::TooLarge) => {
                            fail_open(stats, &mut open, "response-too-large");
                            return Lost::Again;
                        }
                    }
                }
                Err(ReadError::Malformed(e)) => {
                    stats.violation(&e);
                    fail_open(stats, &mut open, "dropped-after-violation");
                    return Lost::Again;
                }
                Err(ReadError::Io(_)) => {
                    fail_open(stats, &mut open, "read-failed");
                    return Lost::Again;
                }
            },
            () = tokio::time::sleep(wait) => {
                let ended = Instant::now() >= hard_end;
                fail_open(stats, &mut open, if ended { "unfinished-at-end" } else { "timeout" });
                return Lost::Again;
            }
        }
    }
}

fn fail_open(stats: &mut Stats, open: &mut BTreeMap<RequestId, Open>, kind: &'static str) {
    for _ in std::mem::take(open) {
        stats.failed += 1;
        stats.error(kind);
    }
}

/// One Responder request (§6.2): BEGIN_REQUEST with FCGI_KEEP_CONN,
/// the params, the body, each stream ended by its empty record.
fn write_request(
    ws: &mut WebServer,
    id: RequestId,
    plan: &Plan,
    out: &mut Vec<u8>,
) -> Result<(), fcgi_proto::UsageError> {
    ws.begin_request(id, Role::Responder, true, out)?;
    ws.stream(StreamType::Params, id, &plan.params_block, out)?;
    ws.end_stream(StreamType::Params, id, out)?;
    if !plan.body.is_empty() {
        ws.stream(StreamType::Stdin, id, &plan.body, out)?;
    }
    ws.end_stream(StreamType::Stdin, id, out)
}

/// Judges the records read so far with the machine; counts ends.
fn take_records(
    rd: &mut Reader<WebServer>,
    open: &mut BTreeMap<RequestId, Open>,
    stats: &mut Stats,
) -> Result<(), Bad> {
    // Bounded: each turn consumes one record of what was read.
    while let Some(inbound) = rd.next_event()? {
        let at = inbound.record.offset;
        match inbound.event? {
            Event::Stdout { request_id, data } => {
                let n = data.len() as u64;
                stats.stdout_bytes += n;
                if let Some(o) = open.get_mut(&request_id) {
                    o.stdout += n;
                    if o.stdout > MAX_RESPONSE {
                        return Err(Bad::TooLarge);
                    }
                }
            }
            Event::Stderr { data, .. } => stats.stderr_bytes += data.len() as u64,
            Event::EndRequest {
                request_id,
                body,
                stdout_ended,
                ..
            } => {
                if let Some(o) = open.remove(&request_id) {
                    match body.protocol_status {
                        ProtocolStatus::RequestComplete => {
                            if !stdout_ended {
                                // R-5.3-1 (app/5.3/stdout-ended); STDERR left
                                // open is not counted, as the suite warns only (OQ-26).
                                stats.violation(&fcgi_proto::Error::new(
                                    ErrorKind::UnterminatedStream {
                                        record_type: RecordType::Stdout,
                                        request_id: request_id.get(),
                                    },
                                    at,
                                ));
                            }
                            stats.completed += 1;
                            stats.record_latency(o.started.elapsed());
                        }
                        other => {
                            stats.failed += 1;
                            stats.refusal(other.name());
                        }
                    }
                }
            }
            Event::UnknownType(_) => stats.error("unknown-type-answer"),
            _ => {}
        }
    }
    Ok(())
}
