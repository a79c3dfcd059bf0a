//! The runner's application side: accepts the web server's connections,
//! checks every record it sends with `fcgi_proto::app::Connection`, and
//! lets a case script the answers. Connections outlive cases (a server
//! that keeps connections reuses them in the next case), so each one runs
//! in its own task and reports to one channel.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcgi_proto::app::{Config as AppConfig, Connection, Event};
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::decoder::Decoder;
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::management::Values;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

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
    /// BEGIN_REQUEST (§5.1).
    Begin {
        /// Request id.
        id: u16,
        /// Role.
        role: Role,
        /// FCGI_KEEP_CONN set.
        keep_conn: bool,
    },
    /// PARAMS ended (§5.2): the whole block.
    Params {
        /// Request id.
        id: u16,
        /// The name-value block.
        block: Vec<u8>,
    },
    /// STDIN bytes.
    Stdin {
        /// Request id.
        id: u16,
        /// Bytes.
        data: Vec<u8>,
    },
    /// STDIN ended.
    StdinEnd {
        /// Request id.
        id: u16,
    },
    /// DATA bytes or end (§6.4).
    Data {
        /// Request id.
        id: u16,
    },
    /// ABORT_REQUEST (§5.4).
    Abort {
        /// Request id.
        id: u16,
    },
    /// GET_VALUES (§4.1), answered automatically.
    GetValues {
        /// The names asked for.
        names: Vec<String>,
    },
    /// A record type the application does not know (§4.2), answered with UNKNOWN_TYPE.
    UnknownType {
        /// Type code.
        record_type: u8,
    },
    /// A record for an inactive id (§3.3).
    Ignored {
        /// Type.
        rtype: RecordType,
        /// Request id.
        id: u16,
    },
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
}

type Current = Arc<Mutex<(u64, Transcript)>>;

enum Msg {
    Opened(ConnId, mpsc::UnboundedSender<Ctl>),
    Ev(AppEvent),
}

/// The application side of a run.
pub struct AppSide {
    rx: mpsc::UnboundedReceiver<Msg>,
    conns: BTreeMap<ConnId, mpsc::UnboundedSender<Ctl>>,
    current: Current,
    accept: tokio::task::JoinHandle<()>,
    pending: std::collections::VecDeque<AppEvent>,
    /// Connections opened in the whole run.
    pub opened_total: u64,
    /// GET_VALUES records seen in the whole run.
    pub get_values_total: u64,
    /// Writes records with this encoder (no padding unless a case asks).
    pub encoder: Encoder,
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
    /// STDIN bytes.
    pub stdin: Vec<u8>,
    /// STDIN records seen (including the empty one).
    pub stdin_records: usize,
    /// STDIN ended by its empty record.
    pub stdin_ended: bool,
    /// Records for this request, in order: (type, content length, padding, reserved).
    pub records: Vec<(RecordType, usize, u8, u8)>,
    /// Protocol violations seen on its connection while it was collected.
    pub violations: Vec<fcgi_proto::Error>,
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

    /// Whether everything the role calls for has arrived.
    pub fn complete(&self) -> bool {
        self.params_ended && (self.stdin_ended || self.role == Some(Role::Authorizer))
    }

    /// A short description for reports.
    pub fn describe(&self) -> String {
        format!(
            "conn {} id {} role {} keep_conn {}, {} params in {} PARAMS records{}, {} STDIN bytes in {} records{}",
            self.conn,
            self.id,
            self.role.map_or("?", Role::name),
            self.keep_conn,
            self.params.len(),
            self.params_records,
            if self.params_ended { " (ended)" } else { " (NOT ended)" },
            self.stdin.len(),
            self.stdin_records,
            if self.stdin_ended { " (ended)" } else { " (NOT ended)" },
        )
    }
}

impl AppSide {
    /// Starts accepting on `listener`.
    pub fn start(listener: Listener) -> AppSide {
        let (tx, rx) = mpsc::unbounded_channel();
        let current: Current = Arc::new(Mutex::new((0, Transcript::new())));
        let values = Values {
            max_conns: Some(16),
            max_reqs: Some(16),
            mpxs_conns: Some(true),
        };
        let cur = current.clone();
        let accept = tokio::spawn(async move {
            let mut n: ConnId = 0;
            // Ends when the AppSide drops (aborted) or the listener fails.
            while let Ok(s) = listener.accept().await {
                n += 1;
                let (ctx, crx) = mpsc::unbounded_channel();
                if tx.send(Msg::Opened(n, ctx)).is_err() {
                    break;
                }
                tokio::spawn(conn_task(n, s, tx.clone(), crx, cur.clone(), values));
            }
        });
        AppSide {
            rx,
            conns: BTreeMap::new(),
            current,
            accept,
            pending: Default::default(),
            opened_total: 0,
            get_values_total: 0,
            encoder: Encoder::with_padding(Padding::None),
        }
    }

    /// Starts a case: new transcript, stale events dropped.
    pub fn begin_case(&mut self, transcript: Transcript) {
        {
            let mut g = self.current.lock().unwrap_or_else(|p| p.into_inner());
            g.0 += 1;
            g.1 = transcript;
        }
        self.pending.clear();
        while let Ok(m) = self.rx.try_recv() {
            self.absorb(m);
        }
        self.pending.clear();
    }

    fn absorb(&mut self, m: Msg) -> Option<AppEvent> {
        match m {
            Msg::Opened(n, ctl) => {
                self.conns.insert(n, ctl);
                self.opened_total += 1;
                Some(AppEvent {
                    conn: n,
                    ev: Ev::Opened,
                })
            }
            Msg::Ev(e) => {
                match &e.ev {
                    Ev::Closed => {
                        self.conns.remove(&e.conn);
                    }
                    Ev::GetValues { .. } => self.get_values_total += 1,
                    _ => {}
                }
                Some(e)
            }
        }
    }

    /// The next event, or `None` at the deadline.
    pub async fn next(&mut self, deadline: Instant) -> Option<AppEvent> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        loop {
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

    /// STDOUT records for `data` (split at 65535 bytes), then the empty one.
    pub fn stdout_bytes(&self, id: u16, data: &[u8], end: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.encoder.stream(RecordType::Stdout, id, data, &mut out);
        if end {
            let _ = self.encoder.end_stream(RecordType::Stdout, id, &mut out);
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
        loop {
            if reqs.len() >= n && reqs.iter().all(SeenRequest::complete) {
                // An Authorizer may still get STDIN: give it a moment.
                if reqs.iter().any(|r| r.role == Some(Role::Authorizer)) {
                    let until = (Instant::now() + Duration::from_millis(50)).min(deadline);
                    while let Some(e) = self.next(until).await {
                        if !absorb_into(&mut reqs, &e, &mut last_meta, usize::MAX) {
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
            absorb_into(&mut reqs, &e, &mut last_meta, n);
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
                        r.records.push((*rtype, *len, *padding, *reserved));
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
        Ev::Begin {
            id,
            role,
            keep_conn,
        } => {
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
        Ev::Params { id, block } => {
            let Some(r) = pos(reqs, *id).and_then(|i| reqs.get_mut(i)) else {
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
        Ev::Stdin { id, data } => {
            let Some(r) = pos(reqs, *id).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            r.stdin.extend_from_slice(data);
            true
        }
        Ev::StdinEnd { id } => {
            let Some(r) = pos(reqs, *id).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            r.stdin_ended = true;
            true
        }
        Ev::Violation(err) => {
            for r in reqs.iter_mut().filter(|r| r.conn == e.conn) {
                r.violations.push(err.clone());
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

struct ConnState {
    n: ConnId,
    app: Connection,
    tx: mpsc::UnboundedSender<Msg>,
    current: Current,
    log: Option<(u64, ConnLog)>,
    values: Values,
    encoder: Encoder,
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

    fn send(&self, ev: Ev) {
        let _ = self.tx.send(Msg::Ev(AppEvent { conn: self.n, ev }));
    }
}

/// END_REQUEST's bytes into `out`; true when the connection closes after it.
fn end_request_bytes(
    st: &mut ConnState,
    id: u16,
    app_status: u32,
    status: ProtocolStatus,
    out: &mut Vec<u8>,
) -> bool {
    match st.app.end_request(id, app_status, status, out) {
        Ok(c) => c && st.app.should_close(),
        Err(_) => {
            let _ = st.encoder.end_request(id, app_status, status, out);
            false
        }
    }
}

async fn conn_task(
    n: ConnId,
    stream: Stream,
    tx: mpsc::UnboundedSender<Msg>,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    current: Current,
    values: Values,
) {
    let mut st = ConnState {
        n,
        app: Connection::new(AppConfig::default()),
        tx,
        current,
        log: None,
        values,
        encoder: Encoder::with_padding(Padding::None),
    };
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut dec = Decoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut broken = false;
    loop {
        tokio::select! {
            c = ctl.recv() => {
                let Some(c) = c else { break };
                let mut out = Vec::new();
                let mut close = false;
                let mut ack = None;
                match c {
                    Ctl::Write(b) => out = b,
                    Ctl::EndRequest(id, app_status, status) => {
                        close = end_request_bytes(&mut st, id, app_status, status, &mut out);
                    }
                    Ctl::EndRequestAck(id, app_status, status, tx) => {
                        close = end_request_bytes(&mut st, id, app_status, status, &mut out);
                        ack = Some(tx);
                    }
                    Ctl::Close => break,
                    Ctl::Active(reply) => {
                        let _ = reply.send(if broken { 1 } else { st.app.active().count() });
                        continue;
                    }
                }
                st.log(Dir::ToServer, &out);
                let written = wr.write_all(&out).await.is_ok() && wr.flush().await.is_ok();
                if let Some(tx) = ack {
                    let _ = tx.send(written);
                }
                if !written {
                    break;
                }
                if close {
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
                    st.send(Ev::Violation(e));
                    broken = true;
                    continue;
                }
                let mut answers = Vec::new();
                loop {
                    let rec = match dec.next_record() {
                        Ok(Some(r)) => r,
                        Ok(None) => break,
                        Err(e) => {
                            st.send(Ev::Violation(e));
                            broken = true;
                            break;
                        }
                    };
                    let begin_body = (rec.record_type() == RecordType::BeginRequest)
                        .then(|| rec.content.to_vec());
                    st.send(Ev::Record {
                        rtype: rec.record_type(),
                        id: rec.request_id(),
                        len: rec.content.len(),
                        padding: rec.header.padding_length,
                        reserved: rec.header.reserved,
                        offset: rec.offset,
                        begin_body,
                    });
                    let ev = match st.app.handle(&rec) {
                        Ok(Some(ev)) => ev,
                        Ok(None) => continue,
                        Err(e) => {
                            st.send(Ev::Violation(e));
                            continue;
                        }
                    };
                    let out = match ev {
                        Event::GetValues { query } => {
                            let names = name_value::pairs(query)
                                .filter_map(Result::ok)
                                .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
                                .collect();
                            let _ = st.app.get_values_result(&st.values, query, &mut answers);
                            Ev::GetValues { names }
                        }
                        Event::UnknownType { record_type, .. } => {
                            let _ = st.app.unknown_type(record_type, &mut answers);
                            Ev::UnknownType { record_type }
                        }
                        Event::BeginRequest { request_id, role, keep_conn } => Ev::Begin { id: request_id, role, keep_conn },
                        Event::Params { request_id, block } => Ev::Params { id: request_id, block },
                        Event::Stdin { request_id, data } => Ev::Stdin { id: request_id, data: data.to_vec() },
                        Event::StdinEnd { request_id } => Ev::StdinEnd { id: request_id },
                        Event::Data { request_id, .. } | Event::DataEnd { request_id } => Ev::Data { id: request_id },
                        Event::AbortRequest { request_id } => Ev::Abort { id: request_id },
                        Event::Ignored { record_type, request_id } => Ev::Ignored { rtype: record_type, id: request_id },
                    };
                    st.send(out);
                }
                if !answers.is_empty() {
                    st.log(Dir::ToServer, &answers);
                    if wr.write_all(&answers).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let _ = wr.shutdown().await;
    st.send(Ev::Closed);
}
