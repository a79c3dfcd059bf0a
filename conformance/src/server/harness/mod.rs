//! The runner's application side: accepts the web server's connections,
//! checks every record it sends with `fcgi_proto::connection::Application`, and
//! lets a case script the answers. Connections outlive cases (a server
//! that keeps connections reuses them in the next case), so each one runs
//! in its own task and reports to one channel.
//!
//! Bounded whatever the web server does ([`crate::bounds`]): the channel
//! holds at most [`bounds::EVENT_QUEUE`] events and [`EVENT_BYTES`] bytes
//! of payload, and a full channel stops the connection reading its socket
//! (the web server feels TCP flow control); at most [`bounds::MAX_REQS`]
//! requests are active per connection (announced as FCGI_MAX_REQS) and
//! [`bounds::CONNS_OPEN`] connections are served at once; unended PARAMS
//! of one connection add up to at most [`bounds::PARAMS_PER_CONN`];
//! records for ids never begun are counted, not reported one by one; a
//! collected request keeps at most [`bounds::STDIN_KEPT`] bytes of STDIN.

use fcgi_proto::stream::StreamType;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{Application, ApplicationConfig, ApplicationEvent, RequestId};
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::management::Values;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::bounds::{self, Bounds};
use crate::target::Listener;
use crate::transcript::{ConnLog, Dir, Transcript};

/// A connection's number in this run (1, 2, ...).
pub type ConnId = u64;

/// What happened on one of the web server's connections.
#[derive(Debug, Clone)]
pub enum Ev {
    /// A new connection.
    Opened,
    /// A record as it came, before interpretation.
    Record {
        /// Type.
        rtype: RecordType,
        /// Request id.
        id: u16,
        /// Content length.
        len: usize,
        /// paddingLength.
        padding: u8,
        /// The reserved header byte.
        reserved: u8,
        /// Offset of the record in the connection.
        offset: u64,
        /// BEGIN_REQUEST body bytes, when this is one.
        begin_body: Option<Vec<u8>>,
    },
    /// What the codec's application side made of a record
    /// ([`fcgi_proto::connection::Application`]), owned. PARAMS fragments
    /// are not reported (their end carries the whole block), DATA's bytes
    /// are not kept (only that they came: the cases need no more), GET_VALUES
    /// is answered automatically, and of the records for an inactive id
    /// (§3.3) only the first on a connection is reported (the rest are
    /// counted, [`AppSide::ignored`]).
    Fcgi(ApplicationEvent<'static>),
    /// The web server went past one of the runner's bounds on this
    /// connection; the connection is closed (PARAMS) or closed at the end
    /// of the case (records for inactive ids). The text says which bound.
    OverBound(String),
    /// A protocol violation by the web server (the codec's typed error).
    Violation(fcgi_proto::Error),
    /// The connection wrote the answer armed with
    /// [`AppSide::answer_at_params_end`] for request `id`, right after the
    /// records read together with the end of its PARAMS: before it read
    /// another byte from the web server.
    AnsweredEarly {
        /// Request id.
        id: u16,
        /// The empty STDIN record had been read before the answer went
        /// out (it came in the same read as the end of PARAMS).
        stdin_ended: bool,
        /// The answer was written on the open connection.
        written: bool,
    },
    /// The web server closed the connection (or it broke).
    Closed,
}

/// An event and its connection.
#[derive(Debug, Clone)]
pub struct AppEvent {
    /// Which connection.
    pub conn: ConnId,
    /// What happened.
    pub ev: Ev,
}

enum Ctl {
    Write(Vec<u8>),
    EndRequest(u16, u32, ProtocolStatus),
    /// END_REQUEST, and whether it was written on the open connection.
    EndRequestAck(u16, u32, ProtocolStatus, oneshot::Sender<bool>),
    Close,
    Active(oneshot::Sender<usize>),
    /// Half-close: no more bytes to the web server; reading goes on, so
    /// that the server's own close is seen ([`Ev::Closed`]).
    Shutdown,
    /// Answered once every record read before it has been queued as an
    /// event: never answered out of turn (unlike `Active`).
    Sync(oneshot::Sender<()>),
}

type Current = Arc<Mutex<(u64, Transcript)>>;

/// The answer a case armed with [`AppSide::answer_at_params_end`]: taken
/// by the first connection that reads the end of a request's PARAMS.
type EarlySlot = Arc<Mutex<Option<Vec<u8>>>>;

/// Payload bytes (STDIN data, PARAMS blocks) queued in the event channel
/// at once; with [`bounds::EVENT_QUEUE`] it bounds the channel in bytes.
pub const EVENT_BYTES: usize = 16 << 20;

/// Connections whose GET_VALUES names are kept ([`AppSide::get_values_on`]).
pub const GET_VALUES_CONNS: usize = 256;
/// Names kept of one connection's GET_VALUES.
pub const GET_VALUES_NAMES: usize = 16;

/// Management records (type, request id) kept per connection
/// ([`AppSide::management_on`]), for the last [`GET_VALUES_CONNS`] connections.
pub const MANAGEMENT_KEPT: usize = 64;

/// Records for inactive ids one connection may send before it counts as
/// flooding: it is then closed at the end of the case.
pub const IGNORED_PER_CONN: u64 = 1024;

enum Msg {
    Opened(ConnId, mpsc::UnboundedSender<Ctl>, Arc<ConnStats>),
    /// An event, and the share of [`EVENT_BYTES`] its payload holds.
    Ev(AppEvent, Option<OwnedSemaphorePermit>),
}

/// Counters a connection keeps for the cases to read.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Records for inactive ids (§3.3), ignored.
    pub ignored: AtomicU64,
}

/// The application side of a run.
pub struct AppSide {
    rx: mpsc::Receiver<Msg>,
    conns: BTreeMap<ConnId, mpsc::UnboundedSender<Ctl>>,
    stats: BTreeMap<ConnId, Arc<ConnStats>>,
    current: Current,
    accept: tokio::task::JoinHandle<()>,
    pending: VecDeque<AppEvent>,
    /// No wait of the current case goes past this (set by the suite's
    /// runner, [`bounds::read_deadline`]).
    pub case_deadline: Option<Instant>,
    /// Records for inactive ids on connections that have closed.
    ignored_closed: u64,
    /// Connections opened in the whole run.
    pub opened_total: u64,
    /// GET_VALUES records seen in the whole run.
    pub get_values_total: u64,
    /// The names each connection asked for in GET_VALUES, by connection
    /// (the last [`GET_VALUES_CONNS`] connections that sent one).
    get_values_by_conn: BTreeMap<ConnId, Vec<String>>,
    /// The management records each connection sent, as (type, request id).
    management_by_conn: BTreeMap<ConnId, Vec<(RecordType, u16)>>,
    early: EarlySlot,
    /// Writes records with this encoder (no padding unless a case asks).
    pub encoder: Encoder,
    bounds: Bounds,
}

impl Drop for AppSide {
    fn drop(&mut self) {
        self.accept.abort();
        for c in self.conns.values() {
            let _ = c.send(Ctl::Close);
        }
    }
}

impl AppSide {
    /// Starts accepting on `listener`, with the default bounds.
    pub fn start(listener: Listener) -> AppSide {
        AppSide::start_with(listener, &Bounds::default())
    }

    /// Starts accepting on `listener`, with the given bounds.
    pub fn start_with(listener: Listener, bounds: &Bounds) -> AppSide {
        let (tx, rx) = mpsc::channel(bounds::EVENT_QUEUE);
        let current: Current = Arc::new(Mutex::new((0, Transcript::new())));
        // What the runner announces is what it enforces.
        let values = Values {
            max_conns: Some(bounds::MAX_CONNS as u32),
            max_reqs: Some(bounds::MAX_REQS as u32),
            mpxs_conns: Some(true),
        };
        let limits = Limits {
            params_per_conn: bounds.params_per_conn,
        };
        let cur = current.clone();
        let early: EarlySlot = Arc::new(Mutex::new(None));
        let early_conns = early.clone();
        let queue_bytes = Arc::new(Semaphore::new(EVENT_BYTES));
        let open = Arc::new(Semaphore::new(bounds::CONNS_OPEN));
        let accept = tokio::spawn(async move {
            let mut n: ConnId = 0;
            // Ends when the AppSide drops (aborted) or the listener fails.
            // Past CONNS_OPEN, further connections wait in the backlog.
            while let Ok(permit) = open.clone().acquire_owned().await {
                let Ok(s) = listener.accept().await else {
                    break;
                };
                n += 1;
                let (ctx, crx) = mpsc::unbounded_channel();
                let stats = Arc::new(ConnStats::default());
                if tx.send(Msg::Opened(n, ctx, stats.clone())).await.is_err() {
                    break;
                }
                let app = Application::new(ApplicationConfig::default().with_limits(
                    fcgi_proto::Limits {
                        max_requests: bounds::MAX_REQS,
                        ..fcgi_proto::Limits::default()
                    },
                ));
                let driver =
                    Driver::new(s, app).with_tap_into(Arc::new(CaseTap::new(n, cur.clone())));
                let st = ConnState {
                    n,
                    tx: tx.clone(),
                    queue_bytes: queue_bytes.clone(),
                    values,
                    limits,
                    encoder: Encoder::default().with_padding(Padding::None),
                    stats,
                    params_held: BTreeMap::new(),
                    violations: 0,
                    over_bound: false,
                    early: early_conns.clone(),
                };
                tokio::spawn(conn_task(st, driver, crx, permit));
            }
        });
        AppSide {
            rx,
            conns: BTreeMap::new(),
            stats: BTreeMap::new(),
            current,
            accept,
            pending: Default::default(),
            case_deadline: None,
            ignored_closed: 0,
            opened_total: 0,
            get_values_total: 0,
            get_values_by_conn: BTreeMap::new(),
            management_by_conn: BTreeMap::new(),
            early,
            encoder: Encoder::default().with_padding(Padding::None),
            bounds: bounds.clone(),
        }
    }

    /// Starts a case: new transcript, stale events dropped (at most a
    /// queue's worth: a connection that keeps flooding is not waited for).
    pub fn begin_case(&mut self, transcript: Transcript) {
        {
            let mut g = self.current.lock().unwrap_or_else(|p| p.into_inner());
            g.0 += 1;
            g.1 = transcript;
        }
        *self.early.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.pending.clear();
        for _ in 0..bounds::EVENT_QUEUE {
            let Ok(m) = self.rx.try_recv() else { break };
            self.absorb(m);
        }
        self.pending.clear();
    }

    fn absorb(&mut self, m: Msg) -> Option<AppEvent> {
        match m {
            Msg::Opened(n, ctl, stats) => {
                self.conns.insert(n, ctl);
                self.stats.insert(n, stats);
                self.opened_total += 1;
                Some(AppEvent {
                    conn: n,
                    ev: Ev::Opened,
                })
            }
            // The permit goes here: the payload's bytes leave the queue.
            Msg::Ev(e, _permit) => {
                match &e.ev {
                    Ev::Closed => {
                        self.conns.remove(&e.conn);
                        if let Some(s) = self.stats.remove(&e.conn) {
                            self.ignored_closed = self
                                .ignored_closed
                                .saturating_add(s.ignored.load(Ordering::Relaxed));
                        }
                    }
                    Ev::Record { rtype, id, .. } if rtype.is_management() => {
                        let seen = self.management_by_conn.entry(e.conn).or_default();
                        if seen.len() < MANAGEMENT_KEPT {
                            seen.push((*rtype, *id));
                        }
                        while self.management_by_conn.len() > GET_VALUES_CONNS {
                            self.management_by_conn.pop_first();
                        }
                    }
                    Ev::Fcgi(ApplicationEvent::GetValues { query }) => {
                        self.get_values_total += 1;
                        let names = self.get_values_by_conn.entry(e.conn).or_default();
                        for (n, _) in name_value::pairs(query).map_while(Result::ok) {
                            if names.len() < GET_VALUES_NAMES {
                                names.push(String::from_utf8_lossy(n).into_owned());
                            }
                        }
                        while self.get_values_by_conn.len() > GET_VALUES_CONNS {
                            self.get_values_by_conn.pop_first();
                        }
                    }
                    _ => {}
                }
                Some(e)
            }
        }
    }

    /// The names connection `conn` asked for in FCGI_GET_VALUES (§4.1),
    /// if it sent one at any time of its life so far (the first
    /// [`GET_VALUES_NAMES`] names).
    pub fn get_values_on(&self, conn: ConnId) -> Option<&[String]> {
        self.get_values_by_conn.get(&conn).map(Vec::as_slice)
    }

    /// The management records (appendix A: GET_VALUES, GET_VALUES_RESULT,
    /// UNKNOWN_TYPE) connection `conn` sent at any time of its life so far,
    /// as (type, request id), whatever the id (the first [`MANAGEMENT_KEPT`]).
    pub fn management_on(&self, conn: ConnId) -> &[(RecordType, u16)] {
        self.management_by_conn
            .get(&conn)
            .map_or(&[], Vec::as_slice)
    }

    /// Arms an answer for the next request whose PARAMS end in this case:
    /// its connection writes `stdout` as STDOUT, the empty STDOUT record
    /// and END_REQUEST (FCGI_REQUEST_COMPLETE) itself, right after the
    /// read that brought the end of PARAMS, before it reads on; so with a
    /// body longer than one read ([`crate::driver::READ_BUFFER`]) the
    /// request ends while the web server's STDIN is still open. Reported
    /// as [`Ev::AnsweredEarly`]. A connection that closes after it (no
    /// FCGI_KEEP_CONN) is half-closed and read on until the server closes,
    /// so the rest of STDIN is taken, never reset. Disarmed at the next case.
    pub fn answer_at_params_end(&self, stdout: Vec<u8>) {
        *self.early.lock().unwrap_or_else(|p| p.into_inner()) = Some(stdout);
    }

    /// Records for inactive ids (§3.3) connection `conn` sent so far
    /// (0 for a connection no longer open).
    pub fn ignored(&self, conn: ConnId) -> u64 {
        self.stats
            .get(&conn)
            .map_or(0, |s| s.ignored.load(Ordering::Relaxed))
    }

    /// Records for inactive ids (§3.3) in the whole run, all connections.
    pub fn ignored_total(&self) -> u64 {
        self.stats
            .values()
            .map(|s| s.ignored.load(Ordering::Relaxed))
            .fold(self.ignored_closed, u64::saturating_add)
    }

    /// The next event, or `None` at the deadline (or the case's deadline,
    /// if sooner).
    pub async fn next(&mut self, deadline: Instant) -> Option<AppEvent> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        let deadline = self.case_deadline.map_or(deadline, |d| d.min(deadline));
        loop {
            // Checked first: under a flood the channel is always ready,
            // and a ready receive never sees its timeout.
            if Instant::now() >= deadline {
                return None;
            }
            let m = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .ok()??;
            if let Some(e) = self.absorb(m) {
                return Some(e);
            }
        }
    }

    /// Puts an event back, to be returned first by `next`.
    pub fn unread(&mut self, e: AppEvent) {
        self.pending.push_front(e);
    }

    /// Connections open now.
    pub fn open_conns(&self) -> Vec<ConnId> {
        self.conns.keys().copied().collect()
    }

    /// Writes raw bytes on a connection.
    pub fn write(&self, conn: ConnId, bytes: Vec<u8>) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.send(Ctl::Write(bytes));
        }
    }

    /// Writes END_REQUEST (and closes if the request did not ask to keep the connection, R-3.5-1).
    pub fn end_request(&self, conn: ConnId, id: u16, app_status: u32, status: ProtocolStatus) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.send(Ctl::EndRequest(id, app_status, status));
        }
    }

    /// Writes END_REQUEST as [`AppSide::end_request`] does and says whether
    /// it was written on the open connection: false when the connection
    /// had closed first (or no answer within `wait`).
    pub async fn end_request_sent(
        &self,
        conn: ConnId,
        id: u16,
        app_status: u32,
        status: ProtocolStatus,
        wait: Duration,
    ) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        let (tx, rx) = oneshot::channel();
        if c.send(Ctl::EndRequestAck(id, app_status, status, tx))
            .is_err()
        {
            return false;
        }
        matches!(tokio::time::timeout(wait, rx).await, Ok(Ok(true)))
    }

    /// Closes a connection.
    pub fn close(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            let _ = c.send(Ctl::Close);
        }
    }

    /// Half-closes `conn` (the web server reads its end of file) and waits
    /// until the server closes its end too, or the deadline; then closes
    /// it as [`AppSide::close`] does. True when the server's close came.
    /// Other events seen meanwhile are kept for the next reads.
    pub async fn shut_and_wait(&mut self, conn: ConnId, deadline: Instant) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        if c.send(Ctl::Shutdown).is_err() {
            self.conns.remove(&conn);
            return false;
        }
        let mut others = Vec::new();
        let mut closed = false;
        // Bounded: each turn takes one event, and the queue is bounded.
        for _ in 0..bounds::EVENT_QUEUE {
            let Some(e) = self.next(deadline).await else {
                break;
            };
            if e.conn == conn && matches!(e.ev, Ev::Closed) {
                closed = true;
                break;
            }
            others.push(e);
        }
        for e in others.into_iter().rev() {
            self.unread(e);
        }
        self.close(conn);
        closed
    }

    /// Waits (bounded by `wait`) until every open connection's task has
    /// queued the events of all it has read so far, then takes them in:
    /// a barrier inside the runner, so that what a web server sent in the
    /// same writes as what a case waited for is not left unread.
    pub async fn sync(&mut self, wait: Duration) {
        let mut replies = Vec::new();
        for c in self.conns.values() {
            let (tx, rx) = oneshot::channel();
            if c.send(Ctl::Sync(tx)).is_ok() {
                replies.push(rx);
            }
        }
        for rx in replies {
            let _ = tokio::time::timeout(wait, rx).await;
        }
        for _ in 0..bounds::EVENT_QUEUE {
            let Ok(m) = self.rx.try_recv() else { break };
            if let Some(e) = self.absorb(m) {
                self.pending.push_back(e);
            }
        }
    }

    /// STDOUT records for `data` (split at 65535 bytes), then the empty one.
    pub fn stdout_bytes(&self, id: u16, data: &[u8], end: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.encoder.stream(StreamType::Stdout, id, data, &mut out);
        if end {
            let _ = self.encoder.end_stream(StreamType::Stdout, id, &mut out);
        }
        out
    }

    /// Answers a request with `stdout` and ends it normally.
    pub fn respond(&self, req: &SeenRequest, stdout: &[u8]) {
        self.write(req.conn, self.stdout_bytes(req.id, stdout, true));
        self.end_request(req.conn, req.id, 0, ProtocolStatus::RequestComplete);
    }

    /// Ends the case: closes every connection with a request still active
    /// (its state is unknown to the next case). Bounded by `wait`.
    pub async fn end_case(&mut self, wait: Duration) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let Some(c) = self.conns.get(&id) else {
                continue;
            };
            let (tx, rx) = oneshot::channel();
            if c.send(Ctl::Active(tx)).is_err() {
                self.conns.remove(&id);
                continue;
            }
            match tokio::time::timeout(wait, rx).await {
                Ok(Ok(0)) => {}
                _ => self.close(id),
            }
        }
    }

    /// Collects the next request whose BEGIN_REQUEST arrives before the
    /// deadline, until all its input streams end or the deadline passes.
    /// Requests for other (connection, id) pairs seen meanwhile are left
    /// in `others` in arrival order.
    pub async fn collect(&mut self, deadline: Instant) -> Option<SeenRequest> {
        let mut reqs = self.collect_many(1, deadline).await;
        if reqs.is_empty() {
            None
        } else {
            Some(reqs.remove(0))
        }
    }

    /// Collects up to `n` requests (in the order their BEGIN_REQUEST came),
    /// returning when all are complete or at the deadline.
    pub async fn collect_many(&mut self, n: usize, deadline: Instant) -> Vec<SeenRequest> {
        let mut reqs: Vec<SeenRequest> = Vec::new();
        let mut last_meta: BTreeMap<ConnId, Meta> = BTreeMap::new();
        let cap = self.bounds.stdin_kept;
        loop {
            if reqs.len() >= n && reqs.iter().all(SeenRequest::complete) {
                // An Authorizer gets no STDIN (§6.3), yet a server may
                // send some with its PARAMS: whatever the connections have
                // read so far is taken in first (a barrier, not a pause).
                if reqs.iter().any(|r| r.role == Some(Role::Authorizer)) {
                    let left = deadline.saturating_duration_since(Instant::now());
                    self.sync(left.min(Duration::from_secs(1))).await;
                    while let Some(e) = self.pending.pop_front() {
                        if !absorb_into(&mut reqs, &e, &mut last_meta, usize::MAX, cap) {
                            self.unread(e);
                            break;
                        }
                    }
                }
                return reqs;
            }
            let Some(e) = self.next(deadline).await else {
                return reqs;
            };
            absorb_into(&mut reqs, &e, &mut last_meta, n, cap);
        }
    }
}

mod conn;
mod request;
#[cfg(test)]
mod tests;

use crate::driver::Driver;
use conn::{conn_task, CaseTap, ConnState, Limits};
pub use request::SeenRequest;
use request::{absorb_into, Meta};
