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
use fcgi_proto::decoder::Decoder;
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::management::Values;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::bounds::{self, Bounds};
use crate::target::{Listener, Stream};
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

/// Payload bytes (STDIN data, PARAMS blocks) queued in the event channel
/// at once; with [`bounds::EVENT_QUEUE`] it bounds the channel in bytes.
pub const EVENT_BYTES: usize = 16 << 20;

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

/// One request as the web server sent it.
#[derive(Debug, Clone, Default)]
pub struct SeenRequest {
    /// Connection.
    pub conn: ConnId,
    /// Request id.
    pub id: u16,
    /// Role.
    pub role: Option<Role>,
    /// FCGI_KEEP_CONN.
    pub keep_conn: bool,
    /// BEGIN_REQUEST body.
    pub begin_body: Vec<u8>,
    /// Params (name, value, value length form), in order.
    pub params: Vec<(Vec<u8>, Vec<u8>, LengthForm)>,
    /// PARAMS ended by its empty record.
    pub params_ended: bool,
    /// PARAMS records seen (including the empty one).
    pub params_records: usize,
    /// STDIN bytes, the first [`bounds::STDIN_KEPT`].
    pub stdin: Vec<u8>,
    /// STDIN bytes past the bound, counted and dropped.
    pub stdin_discarded: u64,
    /// STDIN records seen (including the empty one).
    pub stdin_records: usize,
    /// STDIN ended by its empty record.
    pub stdin_ended: bool,
    /// Records for this request, in order: (type, content length, padding,
    /// reserved); the first [`bounds::REQUEST_RECORDS_KEPT`].
    pub records: Vec<(RecordType, usize, u8, u8)>,
    /// Records past those kept in `records`, counted only.
    pub records_dropped: u64,
    /// Protocol violations seen on its connection while it was collected
    /// (the first [`bounds::VIOLATIONS_KEPT`]).
    pub violations: Vec<fcgi_proto::Error>,
    /// A bound of the runner's the web server went past on its connection.
    pub over_bound: Option<String>,
    /// The connection closed while collecting.
    pub closed: bool,
}

impl SeenRequest {
    /// The value of param `name`.
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _, _)| n == name.as_bytes())
            .map(|(_, v, _)| v.as_slice())
    }

    /// The value of param `name` as text.
    pub fn param_str(&self, name: &str) -> Option<String> {
        self.param(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// When the request ran into one of the runner's bounds, a sentence
    /// for the case to report: "the request's STDIN exceeded the runner's
    /// bound of 64 MiB (N bytes discarded)" or the connection's bound.
    pub fn exceeded(&self) -> Option<String> {
        if let Some(b) = &self.over_bound {
            return Some(b.clone());
        }
        (self.stdin_discarded > 0).then(|| {
            format!(
                "the request's STDIN exceeded the runner's bound of {} ({} bytes discarded)",
                bounds::size(self.stdin_cap()),
                self.stdin_discarded
            )
        })
    }

    /// Once bytes were discarded, what was kept is exactly the bound.
    fn stdin_cap(&self) -> usize {
        self.stdin.len()
    }

    /// Whether everything the role calls for has arrived.
    pub fn complete(&self) -> bool {
        self.params_ended && (self.stdin_ended || self.role == Some(Role::Authorizer))
    }

    /// A short description for reports; it names a bound the request ran into.
    pub fn describe(&self) -> String {
        let mut d = self.describe_streams();
        if let Some(x) = self.exceeded() {
            d.push_str("; ");
            d.push_str(&x);
        }
        d
    }

    fn describe_streams(&self) -> String {
        format!(
            "conn {} id {} role {} keep_conn {}, {} params in {} PARAMS records{}, {} STDIN bytes in {} records{}",
            self.conn,
            self.id,
            self.role.map_or("?", Role::name),
            self.keep_conn,
            self.params.len(),
            self.params_records,
            if self.params_ended { " (ended)" } else { " (NOT ended)" },
            (self.stdin.len() as u64).saturating_add(self.stdin_discarded),
            self.stdin_records,
            if self.stdin_ended { " (ended)" } else { " (NOT ended)" },
        )
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
                let st = ConnState {
                    n,
                    app: Application::new(ApplicationConfig::default().with_limits(
                        fcgi_proto::Limits {
                            max_requests: bounds::MAX_REQS,
                            ..fcgi_proto::Limits::default()
                        },
                    )),
                    tx: tx.clone(),
                    queue_bytes: queue_bytes.clone(),
                    current: cur.clone(),
                    log: None,
                    values,
                    limits,
                    encoder: Encoder::with_padding(Padding::None),
                    stats,
                    params_held: BTreeMap::new(),
                    violations: 0,
                    over_bound: false,
                };
                tokio::spawn(conn_task(st, s, crx, permit));
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
            encoder: Encoder::with_padding(Padding::None),
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
                    Ev::Fcgi(ApplicationEvent::GetValues { .. }) => self.get_values_total += 1,
                    _ => {}
                }
                Some(e)
            }
        }
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

type Meta = (RecordType, u16, usize, u8, u8, Option<Vec<u8>>);

/// Folds one event into the requests being collected; false if it did not belong.
fn absorb_into(
    reqs: &mut Vec<SeenRequest>,
    e: &AppEvent,
    last: &mut BTreeMap<ConnId, Meta>,
    max: usize,
    stdin_kept: usize,
) -> bool {
    let pos = |reqs: &Vec<SeenRequest>, id: u16| {
        reqs.iter().rposition(|r| r.conn == e.conn && r.id == id)
    };
    match &e.ev {
        Ev::Record {
            rtype,
            id,
            len,
            padding,
            reserved,
            begin_body,
            ..
        } => {
            last.insert(
                e.conn,
                (*rtype, *id, *len, *padding, *reserved, begin_body.clone()),
            );
            if let Some(i) = pos(reqs, *id) {
                if let Some(r) = reqs.get_mut(i) {
                    if !r.complete() || *rtype == RecordType::Stdin {
                        if r.records.len() < bounds::REQUEST_RECORDS_KEPT {
                            r.records.push((*rtype, *len, *padding, *reserved));
                        } else {
                            r.records_dropped += 1;
                        }
                        match rtype {
                            RecordType::Params => r.params_records += 1,
                            RecordType::Stdin => r.stdin_records += 1,
                            _ => {}
                        }
                    }
                }
            }
            true
        }
        Ev::Fcgi(ApplicationEvent::BeginRequest {
            request_id,
            role,
            keep_conn,
        }) => {
            let id = &request_id.get();
            if reqs.len() >= max {
                return false;
            }
            let mut r = SeenRequest {
                conn: e.conn,
                id: *id,
                role: Some(*role),
                keep_conn: *keep_conn,
                ..SeenRequest::default()
            };
            if let Some((t, _, len, pad, res, body)) = last.get(&e.conn) {
                r.records.push((*t, *len, *pad, *res));
                r.begin_body = body.clone().unwrap_or_default();
            }
            reqs.push(r);
            true
        }
        Ev::Fcgi(ApplicationEvent::ParamsEnd { request_id, block }) => {
            let Some(r) = pos(reqs, request_id.get()).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            r.params_ended = true;
            let mut it = name_value::pairs(block);
            while let Some(p) = it.next_pair() {
                match p {
                    Ok(p) => r
                        .params
                        .push((p.name.to_vec(), p.value.to_vec(), p.value_form)),
                    Err(err) => {
                        r.violations.push(err);
                        break;
                    }
                }
            }
            true
        }
        Ev::Fcgi(ApplicationEvent::Stdin { request_id, data }) => {
            let Some(r) = pos(reqs, request_id.get()).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            bounds::keep(&mut r.stdin, &mut r.stdin_discarded, data, stdin_kept, None);
            true
        }
        Ev::Fcgi(ApplicationEvent::StdinEnd { request_id }) => {
            let Some(r) = pos(reqs, request_id.get()).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            r.stdin_ended = true;
            true
        }
        Ev::Violation(err) => {
            for r in reqs.iter_mut().filter(|r| r.conn == e.conn) {
                if r.violations.len() < bounds::VIOLATIONS_KEPT {
                    r.violations.push(*err);
                }
            }
            true
        }
        Ev::OverBound(what) => {
            for r in reqs.iter_mut().filter(|r| r.conn == e.conn) {
                r.over_bound.get_or_insert_with(|| what.clone());
            }
            true
        }
        Ev::Closed => {
            for r in reqs.iter_mut().filter(|r| r.conn == e.conn) {
                r.closed = true;
            }
            true
        }
        _ => true,
    }
}

/// Per-connection bounds the harness applies on top of the codec's.
#[derive(Debug, Clone, Copy)]
struct Limits {
    params_per_conn: usize,
}

struct ConnState {
    n: ConnId,
    app: Application,
    tx: mpsc::Sender<Msg>,
    queue_bytes: Arc<Semaphore>,
    current: Current,
    log: Option<(u64, ConnLog)>,
    values: Values,
    limits: Limits,
    encoder: Encoder,
    stats: Arc<ConnStats>,
    /// Unended PARAMS bytes the codec holds, per request id.
    params_held: BTreeMap<u16, usize>,
    /// Protocol violations found on this connection.
    violations: usize,
    /// The connection went past a bound: close it when the case ends.
    over_bound: bool,
}

/// Whether a connection goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// A control message that came while the connection waited on the web
/// server or the queue: Close ends the wait, Active is answered "busy"
/// (such a connection is closed at the case's end), others wait their turn.
fn watch(c: Option<Ctl>, deferred: &mut VecDeque<Ctl>) -> Flow {
    match c {
        None | Some(Ctl::Close) => Flow::Stop,
        Some(Ctl::Active(reply)) => {
            let _ = reply.send(1);
            Flow::Go
        }
        Some(other) => {
            deferred.push_back(other);
            Flow::Go
        }
    }
}

/// Writes to the web server, still obeying Close while the write waits.
async fn write_watching<W: AsyncWriteExt + Unpin>(
    wr: &mut W,
    bytes: &[u8],
    ctl: &mut mpsc::UnboundedReceiver<Ctl>,
    deferred: &mut VecDeque<Ctl>,
) -> Flow {
    let fut = async {
        wr.write_all(bytes).await?;
        wr.flush().await
    };
    tokio::pin!(fut);
    loop {
        tokio::select! {
            r = &mut fut => return if r.is_ok() { Flow::Go } else { Flow::Stop },
            c = ctl.recv() => if watch(c, deferred) == Flow::Stop {
                return Flow::Stop;
            },
        }
    }
}

impl ConnState {
    fn log(&mut self, dir: Dir, bytes: &[u8]) {
        let (gen, t) = {
            let g = self.current.lock().unwrap_or_else(|p| p.into_inner());
            (g.0, g.1.clone())
        };
        let fresh = !matches!(&self.log, Some((g, _)) if *g == gen);
        if fresh {
            self.log = Some((
                gen,
                t.connection(format!("web server connection #{}", self.n)),
            ));
        }
        if let Some((_, l)) = &self.log {
            l.record(dir, bytes);
        }
    }

    /// Queues an event. While the queue is full (in events or payload
    /// bytes) the connection waits here, not reading its socket; Close
    /// still ends it.
    async fn send(
        &self,
        ev: Ev,
        ctl: &mut mpsc::UnboundedReceiver<Ctl>,
        deferred: &mut VecDeque<Ctl>,
    ) -> Flow {
        let bytes = match &ev {
            Ev::Fcgi(ApplicationEvent::Stdin { data, .. }) => data.len(),
            Ev::Fcgi(ApplicationEvent::ParamsEnd { block, .. }) => block.len(),
            _ => 0,
        };
        let (tx, sem, conn) = (&self.tx, &self.queue_bytes, self.n);
        let fut = async move {
            let permit = match bytes {
                0 => None,
                n => Some(
                    sem.clone()
                        .acquire_many_owned(n.min(EVENT_BYTES) as u32)
                        .await
                        .ok()?,
                ),
            };
            tx.send(Msg::Ev(AppEvent { conn, ev }, permit)).await.ok()
        };
        tokio::pin!(fut);
        loop {
            tokio::select! {
                r = &mut fut => return if r.is_some() { Flow::Go } else { Flow::Stop },
                c = ctl.recv() => if watch(c, deferred) == Flow::Stop {
                    return Flow::Stop;
                },
            }
        }
    }

    /// Carries out one control message from the case.
    async fn control<W: AsyncWriteExt + Unpin>(
        &mut self,
        c: Ctl,
        wr: &mut W,
        broken: bool,
        ctl: &mut mpsc::UnboundedReceiver<Ctl>,
        deferred: &mut VecDeque<Ctl>,
    ) -> Flow {
        let mut out = Vec::new();
        let mut close = false;
        let mut ack = None;
        match c {
            Ctl::Write(b) => out = b,
            Ctl::EndRequest(id, app_status, status) => {
                close = self.end_request_bytes(id, app_status, status, &mut out);
            }
            Ctl::EndRequestAck(id, app_status, status, tx) => {
                close = self.end_request_bytes(id, app_status, status, &mut out);
                ack = Some(tx);
            }
            Ctl::Close => return Flow::Stop,
            Ctl::Shutdown => {
                let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
                return Flow::Go;
            }
            Ctl::Sync(reply) => {
                let _ = reply.send(());
                return Flow::Go;
            }
            Ctl::Active(reply) => {
                // A connection that misbehaved counts as busy: its state
                // is unknown to the next case, so it is closed.
                let busy = broken || self.over_bound || self.violations > 0;
                let _ = reply.send(if busy { 1 } else { self.app.active().count() });
                return Flow::Go;
            }
        }
        self.log(Dir::ToServer, &out);
        let flow = write_watching(wr, &out, ctl, deferred).await;
        if let Some(tx) = ack {
            let _ = tx.send(flow == Flow::Go);
        }
        if flow == Flow::Stop || close {
            return Flow::Stop;
        }
        Flow::Go
    }

    /// END_REQUEST's bytes into `out`; true when the connection closes after it.
    fn end_request_bytes(
        &mut self,
        id: u16,
        app_status: u32,
        status: ProtocolStatus,
        out: &mut Vec<u8>,
    ) -> bool {
        self.params_held.remove(&id);
        let ended = RequestId::new(id).ok_or(()).and_then(|rid| {
            self.app
                .end_request(rid, app_status, status, out)
                .map_err(drop)
        });
        match ended {
            Ok(c) => c && self.app.should_close(),
            Err(()) => {
                let _ = self.encoder.end_request(id, app_status, status, out);
                false
            }
        }
    }
}

async fn conn_task(
    mut st: ConnState,
    stream: Stream,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    permit: OwnedSemaphorePermit,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut dec = Decoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut broken = false;
    let mut deferred: VecDeque<Ctl> = VecDeque::new();
    'conn: loop {
        if let Some(c) = deferred.pop_front() {
            if st
                .control(c, &mut wr, broken, &mut ctl, &mut deferred)
                .await
                == Flow::Stop
            {
                break;
            }
            continue;
        }
        tokio::select! {
            c = ctl.recv() => {
                let Some(c) = c else { break };
                if st.control(c, &mut wr, broken, &mut ctl, &mut deferred).await == Flow::Stop {
                    break;
                }
            }
            r = rd.read(&mut buf), if !broken => {
                let n = match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let bytes = buf.get(..n).unwrap_or_default().to_vec();
                st.log(Dir::ToApp, &bytes);
                if let Err(e) = dec.push(&bytes) {
                    broken = true;
                    if st.send(Ev::Violation(e), &mut ctl, &mut deferred).await == Flow::Stop {
                        break;
                    }
                    continue;
                }
                let mut answers = Vec::new();
                loop {
                    let rec = match dec.next_record() {
                        Ok(Some(r)) => r,
                        Ok(None) => break,
                        Err(e) => {
                            broken = true;
                            if st.send(Ev::Violation(e), &mut ctl, &mut deferred).await == Flow::Stop {
                                break 'conn;
                            }
                            break;
                        }
                    };
                    let (t, id) = (rec.record_type(), rec.request_id());
                    // Records for ids never begun are counted below, not
                    // reported one by one.
                    let reported = t == RecordType::BeginRequest
                        || id == 0
                        || matches!(t, RecordType::Unknown(_))
                        || RequestId::new(id).is_some_and(|rid| st.app.is_active(rid));
                    if reported {
                        let begin_body = (t == RecordType::BeginRequest)
                            .then(|| rec.content.to_vec());
                        let ev = Ev::Record {
                            rtype: t,
                            id,
                            len: rec.content.len(),
                            padding: rec.header.padding_length,
                            reserved: rec.header.reserved,
                            offset: rec.offset,
                            begin_body,
                        };
                        if st.send(ev, &mut ctl, &mut deferred).await == Flow::Stop {
                            break 'conn;
                        }
                    }
                    let handled = st.app.handle(&rec);
                    if matches!(handled, Ok(ApplicationEvent::Params { .. })) {
                        let held = st.params_held.entry(id).or_default();
                        *held = held.saturating_add(rec.content.len());
                        let total: usize = st.params_held.values().sum();
                        if total > st.limits.params_per_conn {
                            let what = format!(
                                "the web server sent more than the runner's bound of {} of unended PARAMS on one connection ({} requests active); the runner closed the connection",
                                bounds::size(st.limits.params_per_conn),
                                st.params_held.len()
                            );
                            let _ = st.send(Ev::OverBound(what), &mut ctl, &mut deferred).await;
                            break 'conn;
                        }
                    }
                    let ev = match handled {
                        Ok(ev) => ev,
                        Err(e) => {
                            st.violations += 1;
                            if st.violations > bounds::VIOLATIONS_KEPT {
                                // Enough said: stop reading; the case's end closes it.
                                broken = true;
                                break;
                            }
                            if st.send(Ev::Violation(e), &mut ctl, &mut deferred).await == Flow::Stop {
                                break 'conn;
                            }
                            continue;
                        }
                    };
                    let out = match ev {
                        ApplicationEvent::Params { .. } => continue,
                        ApplicationEvent::GetValues { query } => {
                            let _ = st.app.get_values_result(&st.values, &query, &mut answers);
                            ApplicationEvent::GetValues { query }
                        }
                        ApplicationEvent::UnknownType { record_type, request_id } => {
                            let _ = st.app.unknown_type(record_type, &mut answers);
                            ApplicationEvent::UnknownType { record_type, request_id }
                        }
                        ApplicationEvent::ParamsEnd { request_id, block } => {
                            st.params_held.remove(&request_id.get());
                            ApplicationEvent::ParamsEnd { request_id, block }
                        }
                        ApplicationEvent::Data { request_id, .. } => ApplicationEvent::Data {
                            request_id,
                            data: std::borrow::Cow::Borrowed(&[]),
                        },
                        ApplicationEvent::Ignored { .. } => {
                            let n = st.stats.ignored.fetch_add(1, Ordering::Relaxed) + 1;
                            if n == IGNORED_PER_CONN {
                                st.over_bound = true;
                                if st.send(Ev::OverBound(format!(
                                    "the web server sent {IGNORED_PER_CONN} records for request ids it never began (§3.3); the runner counts the rest and closes the connection at the end of the case"
                                )), &mut ctl, &mut deferred).await == Flow::Stop {
                                    break 'conn;
                                }
                                continue;
                            } else if n != 1 {
                                continue;
                            }
                            ev
                        }
                        ev => ev,
                    };
                    let out = Ev::Fcgi(out.into_owned());
                    if st.send(out, &mut ctl, &mut deferred).await == Flow::Stop {
                        break 'conn;
                    }
                }
                if !answers.is_empty() {
                    st.log(Dir::ToServer, &answers);
                    if write_watching(&mut wr, &answers, &mut ctl, &mut deferred).await == Flow::Stop {
                        break;
                    }
                }
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
    // The slot is free once the socket is; the event may wait for room.
    drop(permit);
    let _ = st
        .tx
        .send(Msg::Ev(
            AppEvent {
                conn: st.n,
                ev: Ev::Closed,
            },
            None,
        ))
        .await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::target::Addr;
    use tokio::net::TcpStream;

    fn enc() -> Encoder {
        Encoder::with_padding(Padding::None)
    }

    async fn side(bounds: &Bounds) -> (AppSide, TcpStream) {
        let l = Listener::bind(&Addr::Tcp(([127, 0, 0, 1], 0).into()))
            .await
            .unwrap();
        let Addr::Tcp(a) = l.local_addr().unwrap() else {
            panic!("tcp")
        };
        let app = AppSide::start_with(l, bounds);
        let c = TcpStream::connect(a).await.unwrap();
        (app, c)
    }

    fn begin(id: u16, w: &mut Vec<u8>) {
        let _ = enc().begin_request(id, Role::Responder, true, w);
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// The id of the connection whose BEGIN_REQUEST is collected first.
    async fn first_conn(app: &mut AppSide, c: &mut TcpStream) -> ConnId {
        let mut w = Vec::new();
        begin(1, &mut w);
        let _ = enc().end_stream(StreamType::Params, 1, &mut w);
        let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
        c.write_all(&w).await.unwrap();
        let r = app.collect(soon()).await.unwrap();
        app.end_request(r.conn, 1, 0, ProtocolStatus::RequestComplete);
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).await.unwrap();
        assert!(n > 0, "END_REQUEST expected");
        r.conn
    }

    #[tokio::test]
    async fn shut_and_wait_sees_the_peer_close_its_end() {
        let (mut app, mut c) = side(&Bounds::default()).await;
        let conn = first_conn(&mut app, &mut c).await;
        let peer = tokio::spawn(async move {
            // The web server's side: end of file, then its own close.
            let mut buf = [0u8; 64];
            let n = c.read(&mut buf).await.unwrap();
            assert_eq!(n, 0);
            drop(c);
        });
        assert!(app.shut_and_wait(conn, soon()).await);
        peer.await.unwrap();
    }

    #[tokio::test]
    async fn shut_and_wait_ends_at_the_deadline_when_the_peer_stays() {
        let (mut app, mut c) = side(&Bounds::default()).await;
        let conn = first_conn(&mut app, &mut c).await;
        let until = Instant::now() + Duration::from_millis(300);
        assert!(!app.shut_and_wait(conn, until).await);
        assert!(Instant::now() >= until);
        // Closed afterwards, as `close` does.
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await;
        assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
    }

    #[tokio::test]
    async fn sync_takes_in_what_came_with_the_awaited_records() {
        let (mut app, mut c) = side(&Bounds::default()).await;
        let mut w = Vec::new();
        let _ = enc().begin_request(1, Role::Authorizer, true, &mut w);
        let _ = enc().end_stream(StreamType::Params, 1, &mut w);
        let _ = enc().stream(StreamType::Stdin, 1, b"not for an authorizer", &mut w);
        let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
        c.write_all(&w).await.unwrap();
        // Complete at its PARAMS' end; the STDIN of the same write is in.
        let r = app.collect(soon()).await.unwrap();
        assert_eq!(r.stdin, b"not for an authorizer");
        assert!(r.stdin_ended, "{}", r.describe());
    }

    #[tokio::test]
    async fn stdin_is_kept_up_to_the_bound_and_counted_past_it() {
        let bounds = Bounds {
            stdin_kept: 1 << 20,
            ..Bounds::default()
        };
        let (mut app, mut c) = side(&bounds).await;
        let mut w = Vec::new();
        begin(1, &mut w);
        let _ = enc().end_stream(StreamType::Params, 1, &mut w);
        let _ = enc().stream(StreamType::Stdin, 1, &vec![b's'; 3 << 20], &mut w);
        let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
        let writer = tokio::spawn(async move {
            c.write_all(&w).await.unwrap();
            c
        });
        let r = app.collect(soon()).await.unwrap();
        assert!(r.complete(), "{}", r.describe());
        assert_eq!(r.stdin.len(), 1 << 20);
        assert_eq!(r.stdin_discarded, 2 << 20);
        let x = r.exceeded().unwrap();
        assert!(x.contains("bound of 1 MiB"), "{x}");
        drop(writer.await);
    }

    #[tokio::test]
    async fn records_for_ids_never_begun_are_counted_in_one_event() {
        let (mut app, mut c) = side(&Bounds::default()).await;
        let mut w = Vec::new();
        for _ in 0..100_000 {
            let _ = enc().end_stream(StreamType::Stdin, 77, &mut w);
        }
        begin(1, &mut w);
        let _ = enc().end_stream(StreamType::Params, 1, &mut w);
        let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
        c.write_all(&w).await.unwrap();
        let mut ignored_events = 0;
        let mut over = 0;
        let mut conn = 0;
        let deadline = soon();
        while let Some(e) = app.next(deadline).await {
            conn = e.conn;
            match e.ev {
                Ev::Fcgi(ApplicationEvent::Ignored { request_id, .. }) => {
                    assert_eq!(request_id.get(), 77);
                    ignored_events += 1;
                }
                Ev::OverBound(_) => over += 1,
                Ev::Fcgi(ApplicationEvent::StdinEnd { request_id }) if request_id.get() == 1 => {
                    break
                }
                _ => {}
            }
        }
        assert_eq!((ignored_events, over), (1, 1));
        assert_eq!(app.ignored(conn), 100_000);
        assert_eq!(app.ignored_total(), 100_000);
        // Over a bound: closed at the case's end although no request is active.
        app.end_case(Duration::from_secs(2)).await;
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await;
        assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
    }

    #[tokio::test]
    async fn unended_params_of_one_connection_are_bounded() {
        let bounds = Bounds {
            params_per_conn: 1 << 20,
            ..Bounds::default()
        };
        let (mut app, mut c) = side(&bounds).await;
        let mut w = Vec::new();
        let value = vec![b'v'; 200_000];
        for id in 1..=10 {
            begin(id, &mut w);
            let _ = enc().params(id, [(&b"X"[..], &value[..])], &mut w);
        }
        // The runner may close before all is written: ignore write errors.
        let _ = c.write_all(&w).await;
        let mut over = None;
        let mut closed = false;
        let deadline = soon();
        while let Some(e) = app.next(deadline).await {
            match e.ev {
                Ev::OverBound(what) => over = Some(what),
                Ev::Closed => {
                    closed = true;
                    break;
                }
                _ => {}
            }
        }
        let what = over.expect("an OverBound event");
        assert!(what.contains("1 MiB of unended PARAMS"), "{what}");
        assert!(closed);
    }

    #[tokio::test]
    async fn requests_past_max_reqs_are_refused() {
        let (mut app, mut c) = side(&Bounds::default()).await;
        let mut w = Vec::new();
        for id in 1..=(bounds::MAX_REQS as u16 + 1) {
            begin(id, &mut w);
        }
        c.write_all(&w).await.unwrap();
        let mut begins = 0;
        let mut refused = None;
        let deadline = soon();
        while let Some(e) = app.next(deadline).await {
            match e.ev {
                Ev::Fcgi(ApplicationEvent::BeginRequest { .. }) => begins += 1,
                Ev::Violation(v) => {
                    refused = Some(v);
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(begins, bounds::MAX_REQS);
        let v = refused.expect("a violation");
        assert!(v.to_string().contains("max_requests"), "{v}");
    }

    #[tokio::test]
    async fn a_flooded_channel_does_not_hold_begin_case() {
        let (mut app, mut c) = side(&Bounds::default()).await;
        let mut w = Vec::new();
        begin(1, &mut w);
        let _ = enc().end_stream(StreamType::Params, 1, &mut w);
        let chunk = {
            let mut s = Vec::new();
            let _ = enc().stream(StreamType::Stdin, 1, &vec![0u8; 1 << 20], &mut s);
            s
        };
        c.write_all(&w).await.unwrap();
        let flood = tokio::spawn(async move { while c.write_all(&chunk).await.is_ok() {} });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        app.begin_case(Transcript::new());
        assert!(t0.elapsed() < Duration::from_secs(2));
        // The flooding connection has an active request: closed at the case's end.
        app.end_case(Duration::from_millis(500)).await;
        let r = tokio::time::timeout(Duration::from_secs(5), flood).await;
        assert!(r.is_ok(), "the flood was not stopped by closing");
    }
}
