//! The bundled reference application: Responder, Authorizer and Filter,
//! multiplexing, the echo contract (docs/echo-contract.md), built on
//! `fcgi_proto::connection::Application` with tokio. It passes every case of the
//! application suite; with [`Fault`]s it breaks one rule at a time, which
//! is how the suite tests itself.

use fcgi_proto::stream::StreamType;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{
    Application, ApplicationConfig, ApplicationEvent as Event, RequestId,
};
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::management::Values;
use fcgi_proto::name_value;
use fcgi_proto::record::{RecordType, NULL_REQUEST_ID};
use fcgi_proto::role::Role;
use tokio::sync::mpsc;

use crate::driver::{Driver, WriteHook, WriteOutcome};
use crate::target::{Addr, Listener, Stream};

/// One deliberate defect of the reference application, for the suite's
/// self-check: each breaks one rule the suite must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Fault {
    /// §5.3: END_REQUEST without the empty STDOUT record.
    NoStdoutEnd,
    /// §5.5: END_REQUEST with a 5-byte body.
    ShortEndRequest,
    /// §3.3: every record sent with version 2.
    BadVersion,
    /// §3.3: records not padded to a multiple of 8 (a SHOULD: warn).
    Unaligned,
    /// §4.1: GET_VALUES never answered.
    IgnoreGetValues,
    /// §4.1: unknown names answered with empty values.
    AnswerUnknownNames,
    /// §4: GET_VALUES_RESULT sent with request id 1.
    ManagementNonZeroId,
    /// §4.2: unknown record types not answered.
    IgnoreUnknownType,
    /// §5.1: an unknown role served as a Responder.
    ServeUnknownRole,
    /// §5.5: the connection dropped when a second request arrives while one is active.
    DropOnInterleave,
    /// §3.3: with two requests active, a response written under the other's id.
    WrongIdWhenInterleaved,
    /// §5.4: ABORT_REQUEST ignored.
    IgnoreAbort,
    /// §3.5: the connection kept open after a request without FCGI_KEEP_CONN.
    NoCloseWithoutKeepConn,
    /// §5.1: the connection closed after a request with FCGI_KEEP_CONN.
    CloseDespiteKeepConn,
    /// §5.5: an empty STDOUT record sent after END_REQUEST.
    RecordAfterEnd,
    /// §6.2: a CGI head line without a colon.
    BadCgiHead,
    /// §3.4: values longer than 127 bytes cut to 127 (a length-form bug).
    CutLongValues,
    /// §5.3: only the first 64 KiB of STDIN kept.
    CutLongStdin,
    /// §3.3: after a malformed record, the application stops accepting connections.
    DieOnMalformed,
    /// §5.5: every ABORT_REQUEST acknowledged with an END_REQUEST of its own, on top of the request's.
    DoubleEndOnAbort,
    /// §4: UNKNOWN_TYPE sent under the request id of the record it answers.
    UnknownTypeUnderRecordId,
    /// §3.5: the connection kept open after refusing an unknown role without FCGI_KEEP_CONN.
    NoCloseAfterUnknownRole,
    /// §6.3: an Authorizer's Variable- header sent whatever the status, not only with 200.
    VariablesOnDeny,
    /// §6.4: a Filter answered as a Responder once STDIN ends, without waiting for FCGI_DATA.
    FilterIgnoresData,
    /// §6.2: a STDERR record written as soon as BEGIN_REQUEST arrives, before PARAMS has ended.
    OutputBeforeParams,
    /// Appendix A: an empty STDIN record, a web server's type, sent back on BEGIN_REQUEST.
    WrongDirection,
    /// §4.1, §6.2: a GET_VALUES that comes while a request's PARAMS is
    /// open taken as the end of PARAMS: that request answered and ended at
    /// once (what php-fpm and php-cgi do), GET_VALUES left unanswered.
    GetValuesEndsParams,
    /// §3.5: 256 KiB kept for good on every connection accepted, so that
    /// memory grows with connections that closed (explore's memory check,
    /// R-3.5-3; no suite case looks for it).
    LeakPerConnection,
}

/// What [`Fault::LeakPerConnection`] keeps for each connection.
const LEAK: usize = 256 << 10;

/// The addresses an FCGI_WEB_SERVER_ADDRS value lists (§3.2, R-3.2-4), as
/// OQ-5 resolves it: comma-separated, spaces around entries ignored, IPv6
/// allowed; an entry that is no address lets nobody in.
pub fn web_server_addrs(value: &str) -> Vec<IpAddr> {
    value
        .split(',')
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect()
}

/// Whether the peer of `stream` may be served under `list`: the list
/// applies to IP peers only (OQ-5), so a unix-socket peer always may.
fn peer_listed(stream: &Stream, list: &[IpAddr]) -> bool {
    let Stream::Tcp(s) = stream else {
        return true;
    };
    match s.peer_addr().map(|a| a.ip()) {
        Ok(ip) => list
            .iter()
            .any(|l| *l == ip || ip.to_canonical() == *l || Some(*l) == ip_v4_mapped(ip)),
        Err(_) => false,
    }
}

/// The IPv4 address an IPv4-mapped IPv6 address stands for.
fn ip_v4_mapped(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    }
}

/// What the reference application says in GET_VALUES_RESULT (§4.1).
pub const VALUES: Values = Values {
    max_conns: Some(64),
    max_reqs: Some(1024),
    mpxs_conns: Some(true),
};

/// Largest STDIN or DATA the reference application holds for one request.
pub const MAX_BODY: usize = 64 << 20;

/// A running reference application.
pub struct Reference {
    addr: Addr,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Reference {
    /// Starts on an ephemeral 127.0.0.1 port.
    pub async fn start(faults: &[Fault]) -> io::Result<Reference> {
        Reference::start_on(&Addr::Tcp(([127, 0, 0, 1], 0).into()), faults).await
    }

    /// Starts on `addr` (TCP or unix socket).
    pub async fn start_on(addr: &Addr, faults: &[Fault]) -> io::Result<Reference> {
        Reference::serve(Listener::bind(addr).await?, faults)
    }

    /// Serves on a listener the caller made, e.g. the one inherited on
    /// descriptor 0 (FCGI_LISTENSOCK_FILENO, §2.2).
    pub fn serve(listener: Listener, faults: &[Fault]) -> io::Result<Reference> {
        Reference::serve_allowing(listener, faults, None)
    }

    /// [`Reference::serve`], closing at once every connection from an IP
    /// peer not in `allowed` when it is given: FCGI_WEB_SERVER_ADDRS (§3.2,
    /// R-3.2-2, OQ-5).
    pub fn serve_allowing(
        listener: Listener,
        faults: &[Fault],
        allowed: Option<Vec<IpAddr>>,
    ) -> io::Result<Reference> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let faults: Arc<BTreeSet<Fault>> = Arc::new(faults.iter().copied().collect());
        let stop2 = stop.clone();
        let task = tokio::spawn(async move {
            while !stop2.load(Ordering::Relaxed) {
                let Ok(stream) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                if let Some(list) = &allowed {
                    if !peer_listed(&stream, list) {
                        drop(stream);
                        continue;
                    }
                }
                tokio::spawn(serve(stream, faults.clone(), stop2.clone()));
            }
        });
        Ok(Reference { addr, stop, task })
    }

    /// Waits until the accept loop ends (it runs until the process stops).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// Where it listens.
    pub fn addr(&self) -> &Addr {
        &self.addr
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

#[derive(Default)]
struct ReqState {
    role: Option<Role>,
    params: Option<Vec<u8>>,
    stdin: Vec<u8>,
    data: Vec<u8>,
    stdin_done: bool,
    data_done: bool,
}

enum Out {
    Bytes(Vec<u8>),
    Close,
}

struct Shared {
    /// The connection's state machine, also the driver's party.
    conn: Arc<Mutex<Application>>,
    /// Responses under way, by request id.
    tasks: Mutex<Vec<(RequestId, tokio::task::JoinHandle<()>)>>,
    faults: Arc<BTreeSet<Fault>>,
    tx: mpsc::Sender<Out>,
}

impl Shared {
    fn has(&self, f: Fault) -> bool {
        self.faults.contains(&f)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Application> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn encoder(&self) -> Encoder {
        encoder_for(&self.faults)
    }

    async fn send(&self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let _ = self.tx.send(Out::Bytes(bytes)).await;
    }

    async fn close(&self) {
        let _ = self.tx.send(Out::Close).await;
    }
}

/// How the reference application pads: to 8 bytes, or not at all under [`Fault::Unaligned`].
fn encoder_for(faults: &BTreeSet<Fault>) -> Encoder {
    if faults.contains(&Fault::Unaligned) {
        Encoder::default().with_padding(Padding::None)
    } else {
        Encoder::default()
    }
}

/// [`Fault::BadVersion`], on the driver's write path: every record sent
/// with version 2.
struct BadVersion;

impl WriteHook for BadVersion {
    fn on_write(&mut self, bytes: &mut Vec<u8>) -> WriteOutcome {
        set_version(bytes, 2);
        WriteOutcome::Go
    }
}

/// Rewrites the version byte of every record in our own, well-formed output.
fn set_version(bytes: &mut [u8], v: u8) {
    let mut at = 0usize;
    while let Some(h) = bytes
        .get(at..)
        .and_then(fcgi_proto::record::Header::from_slice)
    {
        if let Some(b) = bytes.get_mut(at) {
            *b = v;
        }
        at += h.record_len();
    }
}

async fn serve(stream: Stream, faults: Arc<BTreeSet<Fault>>, stop: Arc<AtomicBool>) {
    if faults.contains(&Fault::LeakPerConnection) {
        // Written, so the pages are resident; never freed, on purpose.
        std::hint::black_box(Box::leak(vec![0x5au8; LEAK].into_boxed_slice()));
    }
    let encoder = encoder_for(&faults);
    let app = Arc::new(Mutex::new(Application::new(
        ApplicationConfig::default().with_encoder(encoder),
    )));
    let mut driver = Driver::new(stream, app.clone()).with_read_buffer(64 * 1024);
    if faults.contains(&Fault::BadVersion) {
        driver = driver.with_write_hook(Box::new(BadVersion));
    }
    let (mut reader, mut writer) = driver.into_parts();
    let (tx, mut rx) = mpsc::channel::<Out>(64);
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            match out {
                Out::Bytes(b) => {
                    if writer.send(&b).await.is_err() {
                        break;
                    }
                }
                Out::Close => break,
            }
        }
        let _ = writer.shutdown().await;
    });
    let shared = Arc::new(Shared {
        conn: app,
        tasks: Mutex::new(Vec::new()),
        faults,
        tx,
    });
    let mut reqs: BTreeMap<RequestId, ReqState> = BTreeMap::new();
    // An idle connection is closed after a minute (at most a second more)
    // without bytes: every wait is bounded. One timer for the connection,
    // moved on only when a read comes a second or more after it was last
    // set, instead of a timer made and dropped on every read.
    const IDLE: Duration = Duration::from_secs(60);
    let idle = tokio::time::sleep(IDLE);
    tokio::pin!(idle);
    'conn: loop {
        let filled = tokio::select! {
            biased;
            r = reader.fill() => r,
            () = &mut idle => break,
        };
        match filled {
            Ok(n) if n > 0 => {}
            _ => break,
        }
        let due = tokio::time::Instant::now() + IDLE;
        if due >= idle.deadline() + Duration::from_secs(1) {
            idle.as_mut().reset(due);
        }
        loop {
            let ev = match reader.next_event() {
                Ok(Some(inbound)) => inbound.event.map(Event::into_owned),
                Ok(None) => break,
                Err(_) => {
                    if shared.has(Fault::DieOnMalformed) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    break 'conn;
                }
            };
            match ev {
                Err(_) => {
                    if shared.has(Fault::DieOnMalformed) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    break 'conn;
                }
                Ok(ev) => {
                    if !on_event(&shared, &mut reqs, ev).await {
                        break 'conn;
                    }
                }
            }
        }
    }
    // Responses already under way are finished before the connection
    // closes, even when it closes on a protocol error (bounded by a minute).
    let pending: Vec<_> = std::mem::take(&mut *responders(&shared));
    for (_, task) in pending {
        let _ = tokio::time::timeout(Duration::from_secs(60), task).await;
    }
    shared.close().await;
    drop(shared);
    let _ = writer.await;
}

fn responders(
    sh: &Shared,
) -> std::sync::MutexGuard<'_, Vec<(RequestId, tokio::task::JoinHandle<()>)>> {
    sh.tasks.lock().unwrap_or_else(|p| p.into_inner())
}

/// Handles one event; false closes the connection.
async fn on_event(
    sh: &Arc<Shared>,
    reqs: &mut BTreeMap<RequestId, ReqState>,
    ev: Event<'static>,
) -> bool {
    let enc = sh.encoder();
    let mut out = Vec::new();
    match ev {
        Event::Ignored {
            record_type: RecordType::AbortRequest,
            request_id: id,
        } => {
            if sh.has(Fault::DoubleEndOnAbort) {
                // The automatic acknowledgement, even for a request already ended.
                let _ = enc.end_request(id.get(), 1, ProtocolStatus::RequestComplete, &mut out);
                sh.send(out).await;
            }
        }
        Event::Ignored { .. } | Event::Params { .. } => {}
        Event::GetValues { query } => {
            if sh.has(Fault::GetValuesEndsParams) {
                let open: Vec<RequestId> = reqs
                    .iter()
                    .filter(|(_, r)| r.params.is_none())
                    .map(|(id, _)| *id)
                    .collect();
                for id in open {
                    reqs.remove(&id);
                    let _ = enc.record(
                        RecordType::Stdout,
                        id.get(),
                        b"Status: 200 OK\r\n\r\n",
                        &mut out,
                    );
                    let _ = sh
                        .lock()
                        .end_request(id, 0, ProtocolStatus::RequestComplete, &mut out);
                }
                if !out.is_empty() {
                    sh.send(out).await;
                    return true;
                }
            }
            if sh.has(Fault::IgnoreGetValues) {
                return true;
            }
            let block = if sh.has(Fault::AnswerUnknownNames) {
                let mut b = VALUES.answer(&query).unwrap_or_default();
                for (n, _) in name_value::pairs(&query).map_while(Result::ok) {
                    if VALUES.get(n).is_none() {
                        let _ = name_value::encode_pair(n, b"", &mut b);
                    }
                }
                b
            } else {
                VALUES.answer(&query).unwrap_or_default()
            };
            let id = if sh.has(Fault::ManagementNonZeroId) {
                1
            } else {
                NULL_REQUEST_ID
            };
            let _ = enc.record(RecordType::GetValuesResult, id, &block, &mut out);
            sh.send(out).await;
        }
        Event::UnknownType {
            record_type: t,
            request_id: id,
        } => {
            if sh.has(Fault::UnknownTypeUnderRecordId) {
                let body = fcgi_proto::management::UnknownTypeBody { record_type: t }.to_bytes();
                let _ = enc.record(RecordType::UnknownType, id, &body, &mut out);
                sh.send(out).await;
            } else if !sh.has(Fault::IgnoreUnknownType) {
                let _ = sh.lock().unknown_type(t, &mut out);
                sh.send(out).await;
            }
        }
        Event::BeginRequest {
            request_id: id,
            role,
            ..
        } => {
            if sh.has(Fault::DropOnInterleave) && !reqs.is_empty() {
                return false;
            }
            if sh.has(Fault::OutputBeforeParams) {
                let _ = enc.record(RecordType::Stderr, id.get(), b"early", &mut out);
                sh.send(std::mem::take(&mut out)).await;
            }
            if sh.has(Fault::WrongDirection) {
                let _ = enc.record(RecordType::Stdin, id.get(), b"", &mut out);
                sh.send(std::mem::take(&mut out)).await;
            }
            let role = match role {
                Role::Unknown(_) if sh.has(Fault::ServeUnknownRole) => Role::Responder,
                Role::Unknown(_) => {
                    let close = sh
                        .lock()
                        .end_request(id, 0, ProtocolStatus::UnknownRole, &mut out)
                        .unwrap_or(true);
                    sh.send(out).await;
                    if sh.has(Fault::NoCloseAfterUnknownRole) {
                        return true;
                    }
                    return !(close && sh.lock().should_close());
                }
                r => r,
            };
            reqs.insert(
                id,
                ReqState {
                    role: Some(role),
                    ..ReqState::default()
                },
            );
        }
        Event::ParamsEnd {
            request_id: id,
            block,
        } => {
            if let Some(r) = reqs.get_mut(&id) {
                r.params = Some(block.into_owned());
            }
        }
        Event::Stdin {
            request_id: id,
            data,
        } => {
            if let Some(r) = reqs.get_mut(&id) {
                if r.stdin.len() + data.len() <= MAX_BODY {
                    r.stdin.extend_from_slice(&data);
                }
            }
        }
        Event::Data {
            request_id: id,
            data,
        } => {
            if let Some(r) = reqs.get_mut(&id) {
                if r.data.len() + data.len() <= MAX_BODY {
                    r.data.extend_from_slice(&data);
                }
            }
        }
        Event::StdinEnd { request_id: id } => {
            if let Some(r) = reqs.get_mut(&id) {
                r.stdin_done = true;
            }
            return maybe_respond(sh, reqs, id).await;
        }
        Event::DataEnd { request_id: id } => {
            if let Some(r) = reqs.get_mut(&id) {
                r.data_done = true;
            }
            return maybe_respond(sh, reqs, id).await;
        }
        Event::AbortRequest { request_id: id } => {
            if sh.has(Fault::IgnoreAbort) {
                return true;
            }
            if sh.has(Fault::DoubleEndOnAbort) {
                // An automatic acknowledgement of every abort, on top of
                // the END_REQUEST the request's own handling sends (or
                // already sent): two for one request, whatever the timing.
                let mut ack = Vec::new();
                let _ = enc.end_request(id.get(), 1, ProtocolStatus::RequestComplete, &mut ack);
                sh.send(ack).await;
            }
            // A request being answered has left `reqs` for its task.
            let responding = responders(sh)
                .iter()
                .any(|(i, t)| *i == id && !t.is_finished());
            if responding {
                // The response under way stops at its next piece and ends
                // the request; it is let finish before the next record is
                // read, so that this connection's records are answered in
                // the order they came (a barrier after the abort sees all).
                let task = {
                    let mut tasks = responders(sh);
                    let at = tasks.iter().position(|(i, _)| *i == id);
                    at.map(|at| tasks.swap_remove(at).1)
                };
                if let Some(task) = task {
                    let _ = tokio::time::timeout(Duration::from_secs(60), task).await;
                }
            } else if reqs.remove(&id).is_some() {
                // §5.4: the aborted request still ends with END_REQUEST.
                let close = sh
                    .lock()
                    .end_request(id, 1, ProtocolStatus::RequestComplete, &mut out)
                    .unwrap_or(true);
                sh.send(out).await;
                return !(close && sh.lock().should_close());
            }
        }
    }
    true
}

async fn maybe_respond(
    sh: &Arc<Shared>,
    reqs: &mut BTreeMap<RequestId, ReqState>,
    id: RequestId,
) -> bool {
    let Some(r) = reqs.get(&id) else { return true };
    let role = r.role.unwrap_or(Role::Responder);
    let ignore_data = sh.has(Fault::FilterIgnoresData);
    let ready =
        r.params.is_some() && r.stdin_done && (!role.reads_data() || r.data_done || ignore_data);
    if !ready {
        return true;
    }
    let other = reqs.keys().copied().find(|&k| k != id).map(RequestId::get);
    // The request's state moves into its response: a large body is held
    // once, not copied into the echo.
    let Some(r) = reqs.remove(&id) else {
        return true;
    };
    let (head, body, stderr) = build_response(sh, role, r);
    let sh = sh.clone();
    let wrong_id = other.filter(|_| sh.has(Fault::WrongIdWhenInterleaved));
    if role.reads_data() && ignore_data {
        // A Filter that never looks for FCGI_DATA answers before it reads
        // the next record, as a single-threaded application does.
        respond(sh, id, wrong_id, head, body, stderr).await;
        return true;
    }
    let sh2 = sh.clone();
    let task = tokio::spawn(async move { respond(sh2, id, wrong_id, head, body, stderr).await });
    let mut tasks = responders(&sh);
    tasks.retain(|(_, t)| !t.is_finished());
    tasks.push((id, task));
    true
}

fn build_response(sh: &Shared, role: Role, r: ReqState) -> (Vec<u8>, Body, Vec<u8>) {
    let role = if role == Role::Filter && sh.has(Fault::FilterIgnoresData) {
        Role::Responder
    } else {
        role
    };
    let block = r.params.unwrap_or_default();
    // Names and values are borrowed from the block: nothing is copied
    // for a param the echo does not use.
    let mut echo_params: Vec<(&[u8], &[u8])> = Vec::new();
    let mut status: Option<String> = None;
    let mut big = 0usize;
    let mut stderr = Vec::new();
    let mut data_length: Option<String> = None;
    let cut = sh.has(Fault::CutLongValues);
    for (n, v) in name_value::pairs(&block).map_while(Result::ok) {
        let v = match v.get(..127) {
            Some(short) if cut => short,
            _ => v,
        };
        match n {
            b"ECHO_STATUS" => status = Some(String::from_utf8_lossy(v).into_owned()),
            b"ECHO_BIG" => {
                big = String::from_utf8_lossy(v)
                    .trim()
                    .parse()
                    .unwrap_or(0usize)
                    .min(16 << 20)
            }
            b"ECHO_STDERR" => stderr = v.to_vec(),
            b"FCGI_DATA_LENGTH" => data_length = Some(String::from_utf8_lossy(v).into_owned()),
            _ => {}
        }
        if n.starts_with(b"ECHO_") {
            echo_params.push((n, v));
        }
    }
    let code = status.as_deref().unwrap_or("200");
    let mut head = String::with_capacity(128);
    if sh.has(Fault::BadCgiHead) {
        head.push_str("Status ");
        head.push_str(code);
        head.push_str("\r\n");
    } else {
        head.push_str("Status: ");
        head.push_str(code);
        head.push_str(if status.is_some() {
            " Echo\r\n"
        } else {
            " OK\r\n"
        });
    }
    head.push_str("Content-Type: text/plain\r\nX-Fcgi-Echo: 1\r\n");
    // Variable- headers mean something only in a 200 (R-6.3-1): in any
    // other answer they would reach the HTTP client.
    if role == Role::Authorizer && (code.trim() == "200" || sh.has(Fault::VariablesOnDeny)) {
        head.push_str("Variable-FCGI_CONFORMANCE_AUTH: yes\r\n");
    }
    if role == Role::Filter {
        let ok = data_length.as_deref() == Some(r.data.len().to_string().as_str());
        head.push_str(&format!(
            "X-Data-Length-Matches: {}\r\n",
            if ok { 1 } else { 0 }
        ));
    }
    head.push_str("\r\n");
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(b"FCGI-ECHO/1\n");
    for (n, v) in &echo_params {
        body.extend_from_slice(b"param ");
        body.extend_from_slice(n);
        body.push(b'=');
        body.extend_from_slice(v);
        body.push(b'\n');
    }
    let mut stdin = r.stdin;
    if sh.has(Fault::CutLongStdin) {
        stdin.truncate(65536);
    }
    let _ = writeln!(body, "stdin {}", stdin.len());
    let mut parts = std::collections::VecDeque::with_capacity(4);
    parts.push_back(body);
    parts.push_back(stdin);
    if role == Role::Filter {
        parts.push_back(format!("data {}\n", r.data.len()).into_bytes());
        parts.push_back(r.data);
    }
    let body = Body {
        parts,
        at: 0,
        filler: big,
    };
    (head.into_bytes(), body, stderr)
}

/// A response body as its parts (the echo's lines, the request's own STDIN
/// and DATA buffers) and a count of `x` filler bytes after them, taken in
/// pieces: the body is never gathered into one buffer.
struct Body {
    parts: std::collections::VecDeque<Vec<u8>>,
    /// Bytes of the first part already taken.
    at: usize,
    filler: usize,
}

impl Body {
    /// Appends up to `max` more bytes of the body to `out`; how many.
    fn take(&mut self, max: usize, out: &mut Vec<u8>) -> usize {
        let mut n = 0;
        // Bounded: each turn takes bytes or drops a part.
        while n < max {
            let Some(part) = self.parts.front() else {
                let k = (max - n).min(self.filler);
                out.resize(out.len() + k, b'x');
                self.filler -= k;
                return n + k;
            };
            let rest = part.get(self.at..).unwrap_or_default();
            let k = (max - n).min(rest.len());
            out.extend_from_slice(rest.get(..k).unwrap_or_default());
            n += k;
            self.at += k;
            if self.at >= part.len() {
                self.parts.pop_front();
                self.at = 0;
            }
        }
        n
    }
}

/// A response's STDOUT goes out in pieces of at most this many bytes.
const PIECE: usize = 32 * 1024;

/// Streams one response in 32 KiB pieces, stopping early if the request is aborted.
async fn respond(
    sh: Arc<Shared>,
    id: RequestId,
    wrong_id: Option<u16>,
    head: Vec<u8>,
    mut body: Body,
    stderr: Vec<u8>,
) {
    let enc = sh.encoder();
    let write_id = wrong_id.unwrap_or(id.get());
    let mut piece = head;
    body.take(PIECE, &mut piece);
    let mut aborted = false;
    // The last piece's records go out in one write with the end records:
    // a small response is one write (one hand-off to the writer task, one
    // send) instead of two.
    let mut last = Vec::new();
    // Bounded by the body: every piece after the first takes bytes of it.
    loop {
        // The piece's record, and room for the end records after it (one
        // allocation for a small response).
        let mut out = Vec::with_capacity(piece.len() + stderr.len() + 96);
        {
            let mut c = sh.lock();
            if c.is_aborted(id) && !sh.has(Fault::IgnoreAbort) {
                aborted = true;
                break;
            }
            if wrong_id.is_some() {
                let _ = enc.stream(StreamType::Stdout, write_id, &piece, &mut out);
            } else if c.stream(StreamType::Stdout, id, &piece, &mut out).is_err() {
                break;
            }
        }
        piece.clear();
        if body.take(PIECE, &mut piece) == 0 {
            last = out;
            break;
        }
        sh.send(out).await;
        tokio::task::yield_now().await;
    }
    let mut out = last;
    let close;
    {
        let mut c = sh.lock();
        if !stderr.is_empty() {
            let _ = c.stream(StreamType::Stderr, id, &stderr, &mut out);
            let _ = c.end_stream(StreamType::Stderr, id, &mut out);
        }
        if !sh.has(Fault::NoStdoutEnd) {
            if wrong_id.is_some() {
                let _ = enc.end_stream(StreamType::Stdout, write_id, &mut out);
            } else {
                let _ = c.end_stream(StreamType::Stdout, id, &mut out);
            }
        }
        let mut end = Vec::with_capacity(16);
        let app_status = u32::from(aborted);
        let closing = c
            .end_request(id, app_status, ProtocolStatus::RequestComplete, &mut end)
            .unwrap_or(true);
        if sh.has(Fault::ShortEndRequest) {
            let mut short = Vec::new();
            let _ = enc.record(
                RecordType::EndRequest,
                id.get(),
                &[0, 0, 0, 0, 0],
                &mut short,
            );
            end = short;
        }
        if wrong_id.is_some() {
            end.clear();
            let _ = enc.end_request(
                write_id,
                app_status,
                ProtocolStatus::RequestComplete,
                &mut end,
            );
        }
        out.extend_from_slice(&end);
        if sh.has(Fault::RecordAfterEnd) {
            let _ = enc.end_stream(StreamType::Stdout, id.get(), &mut out);
        }
        close = if sh.has(Fault::NoCloseWithoutKeepConn) {
            false
        } else if sh.has(Fault::CloseDespiteKeepConn) {
            c.active().next().is_none()
        } else {
            closing && c.should_close()
        };
    }
    sh.send(out).await;
    if close {
        sh.close().await;
    }
}
