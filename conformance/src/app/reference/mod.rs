//! The bundled reference application: Responder, Authorizer and Filter,
//! multiplexing, the echo contract (docs/echo-contract.md), built on
//! `fcgi_proto::connection::Application` with tokio. It passes every case of the
//! application suite; with [`Fault`]s it breaks one rule at a time, which
//! is how the suite tests itself.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{
    Application, ApplicationConfig, ApplicationEvent as Event, RequestId,
};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::management::Values;
use fcgi_proto::name_value;
use fcgi_proto::record::{RecordType, NULL_REQUEST_ID};
use fcgi_proto::role::Role;
use tokio::sync::mpsc;

use crate::driver::Driver;
use crate::target::{Addr, Listener, Stream};

mod addrs;
mod fault;
mod response;

use addrs::peer_listed;
pub use addrs::web_server_addrs;
pub use fault::Fault;
use fault::{encoder_for, BadVersion, LEAK};
use response::{build_response, respond};

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
