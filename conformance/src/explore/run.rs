//! Runs a script against a live application, one connection after
//! another, recording every write and read as a conversation
//! ([`crate::conversation`]). Reading goes on while writing, so a target
//! that answers a large body early cannot stall the run. Every wait is
//! bounded by the timeout; what the target failed to do in time is for the
//! oracle to judge from the recording, not for the runner.

use std::time::Duration;

use fcgi_proto::decoder::Decoder;
use fcgi_proto::record::{ParseOptions, RecordType, MAX_RECORD_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::plan::Step;
use crate::conversation::{Connection, Dir, Recorder};
use crate::target::{self, Addr};

/// Bytes read at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Most bytes kept from the target on one connection; past it the
/// connection is closed (the recording keeps what came).
pub const MAX_RECEIVED: usize = 16 << 20;

/// What the bytes sent on a connection ask of the target, read back from
/// the bytes themselves so that a replayed file is judged as the run was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// BEGIN_REQUESTs sent: each wants one END_REQUEST (R-5.5-5).
    pub begun: usize,
    /// Management records sent: each wants an answer (R-4.1-1, R-4.2-1).
    pub queries: usize,
    /// The last BEGIN_REQUEST lacked FCGI_KEEP_CONN: the target closes (R-3.5-1).
    pub close_expected: bool,
}

/// Reads what `bytes` (sent to the target) ask for, up to the first
/// record that does not frame.
pub fn expect(bytes: &[u8]) -> Expect {
    let mut e = Expect::default();
    for rec in
        fcgi_proto::record::records_with(bytes, ParseOptions::default().with_strict_version(false))
    {
        let Ok(rec) = rec else { break };
        match rec.record_type() {
            RecordType::BeginRequest => {
                e.begun += 1;
                e.close_expected = rec.content.get(2).is_some_and(|f| f & 1 == 0);
            }
            RecordType::GetValues => e.queries += 1,
            RecordType::Unknown(_) if rec.request_id() == 0 => e.queries += 1,
            _ => {}
        }
    }
    e
}

/// Counts what came back, loosely (any version), to know when to go on.
struct Seen {
    decoder: Decoder,
    ends: usize,
    answers: usize,
    broken: bool,
    bytes: usize,
}

impl Seen {
    fn new() -> Self {
        Seen {
            decoder: Decoder::with_options(
                ParseOptions::default().with_strict_version(false),
                2 * MAX_RECORD_LEN + READ_CHUNK,
            ),
            ends: 0,
            answers: 0,
            broken: false,
            bytes: 0,
        }
    }

    fn push(&mut self, input: &[u8]) {
        self.bytes += input.len();
        if self.broken || self.decoder.push(input).is_err() {
            self.broken = true;
            return;
        }
        // Bounded: each turn takes one record out of what was pushed.
        loop {
            match self.decoder.next_record() {
                Ok(Some(r)) => match r.record_type() {
                    RecordType::EndRequest => self.ends += 1,
                    RecordType::GetValuesResult | RecordType::UnknownType => self.answers += 1,
                    _ => {}
                },
                Ok(None) => break,
                Err(_) => {
                    self.broken = true;
                    break;
                }
            }
        }
    }
}

/// How a connection went, for the runner.
enum Flow {
    Go,
    /// The target closed, a read failed, or the bytes broke: stop the connection.
    Stop,
}

struct Live<'a> {
    rd: tokio::io::ReadHalf<target::Stream>,
    wr: tokio::io::WriteHalf<target::Stream>,
    rec: &'a mut Recorder,
    seen: Seen,
    buf: Vec<u8>,
    timeout: Duration,
    closed_by_target: bool,
}

impl Live<'_> {
    fn take(&mut self, n: std::io::Result<usize>) -> Flow {
        match n {
            Ok(n) if n > 0 => {
                let chunk = self.buf.get(..n).unwrap_or_default();
                self.rec.write(Dir::FromTarget, chunk);
                self.seen.push(chunk);
                if self.seen.broken || self.seen.bytes > MAX_RECEIVED {
                    Flow::Stop
                } else {
                    Flow::Go
                }
            }
            _ => {
                self.closed_by_target = true;
                self.rec.close(Dir::FromTarget);
                Flow::Stop
            }
        }
    }

    /// After a write failed: reads what is left (bounded by the timeout)
    /// and records the close as the target's.
    async fn drain_after_failed_write(&mut self) {
        // Bounded: every turn reads bytes (capped in all) or ends.
        while let Ok(n) = tokio::time::timeout(self.timeout, self.rd.read(&mut self.buf)).await {
            if let Flow::Stop = self.take(n) {
                break;
            }
        }
        if !self.closed_by_target {
            self.closed_by_target = true;
            self.rec.close(Dir::FromTarget);
        }
    }

    /// Writes `bytes` in one write call sequence, reading meanwhile.
    async fn write(&mut self, bytes: &[u8]) -> Flow {
        let mut at = 0;
        let until = Instant::now() + self.timeout;
        while at < bytes.len() {
            let rest = bytes.get(at..).unwrap_or_default();
            tokio::select! {
                n = self.wr.write(rest) => match n {
                    Ok(n) if n > 0 => {
                        self.rec.write(Dir::ToTarget, rest.get(..n).unwrap_or_default());
                        at += n;
                    }
                    _ => {
                        // The target closed or reset the connection: keep what it sent before.
                        self.drain_after_failed_write().await;
                        return Flow::Stop;
                    }
                },
                n = self.rd.read(&mut self.buf) => {
                    if let Flow::Stop = self.take(n) { return Flow::Stop; }
                }
                () = tokio::time::sleep_until(until) => return Flow::Stop,
            }
        }
        Flow::Go
    }

    /// Reads until `done` holds, the target closes or the timeout passes
    /// without a byte. Returns whether `done` holds.
    async fn wait(&mut self, done: impl Fn(&Seen) -> bool) -> bool {
        // Bounded: every turn reads bytes (capped in all) or ends.
        loop {
            if done(&self.seen) {
                return true;
            }
            match tokio::time::timeout(self.timeout, self.rd.read(&mut self.buf)).await {
                Ok(n) => {
                    if let Flow::Stop = self.take(n) {
                        return done(&self.seen);
                    }
                }
                Err(_) => return false,
            }
        }
    }
}

/// Runs one connection's steps; `sent` is filled with what was written.
async fn run_conn(
    addr: &Addr,
    steps: &[Step],
    timeout: Duration,
    rec: &mut Recorder,
) -> Result<(), String> {
    let stream = target::connect(addr, timeout)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let (rd, wr) = tokio::io::split(stream);
    let mut live = Live {
        rd,
        wr,
        rec,
        seen: Seen::new(),
        buf: vec![0u8; READ_CHUNK],
        timeout,
        closed_by_target: false,
    };
    let mut sent = Vec::new();
    let mut stopped = false;
    for step in steps {
        let flow = match step {
            Step::Write(w) => {
                sent.extend_from_slice(w);
                live.write(w).await
            }
            Step::Sync(n) => {
                let n = *n;
                if live.wait(|s| s.ends >= n).await {
                    Flow::Go
                } else {
                    Flow::Stop
                }
            }
            Step::Drain => {
                live.wait(|_| false).await;
                Flow::Stop
            }
            Step::Sentinel => {
                let e = expect(&sent);
                if e.close_expected {
                    Flow::Go
                } else if live
                    .wait(|s| s.ends >= e.begun && s.answers >= e.queries)
                    .await
                    && !live.closed_by_target
                {
                    let q = super::plan::sentinel();
                    sent.extend_from_slice(&q);
                    live.write(&q).await
                } else {
                    // Closed (the oracle judges the close) or no answer in time.
                    Flow::Stop
                }
            }
        };
        if let Flow::Stop = flow {
            stopped = true;
            break;
        }
    }
    if !stopped {
        let e = expect(&sent);
        let answered = live
            .wait(|s| s.ends >= e.begun && s.answers >= e.queries)
            .await;
        if answered && e.close_expected {
            live.wait(|_| false).await;
        }
    }
    if !live.closed_by_target {
        live.rec.close(Dir::ToTarget);
    }
    let _ = live.wr.shutdown().await;
    Ok(())
}

/// Runs every connection of `script` in turn and returns the recordings;
/// a connect that fails is an error (the target stopped serving).
pub async fn run(
    addr: &Addr,
    script: &[Vec<Step>],
    timeout: Duration,
) -> (Vec<Connection>, Option<String>) {
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    for (i, steps) in script.iter().enumerate() {
        let mut rec = Recorder::new(format!("c{}", i + 1), start);
        let r = run_conn(addr, steps, timeout, &mut rec).await;
        out.push(rec.finish());
        if let Err(e) = r {
            return (out, Some(e));
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_bytes_ask_for() {
        let enc = fcgi_proto::encoder::Encoder::default();
        let mut w = Vec::new();
        let _ = enc.begin_request(1, fcgi_proto::role::Role::Responder, true, &mut w);
        let _ = enc.get_values([b"FCGI_MPXS_CONNS".as_slice()], &mut w);
        let _ = enc.begin_request(2, fcgi_proto::role::Role::Responder, false, &mut w);
        assert_eq!(
            expect(&w),
            Expect {
                begun: 2,
                queries: 1,
                close_expected: true
            }
        );
    }
}
