//! One transport connection to the application, driven by its own task
//! over the shared driver ([`crate::driver`], playing the web server): it
//! writes what requests ask for through `fcgi_proto::connection::WebServer`
//! and routes each record the application sends to the request it belongs to.

use fcgi_proto::stream::StreamType;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fcgi_proto::application::EndRequestBody;
use fcgi_proto::connection::{RequestId, WebServer, WebServerEvent as Event};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::error::ErrorKind;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::role::Role;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{ClientError, Faults};
use crate::driver::{Driver, ReadError, Reader, WriteOutcome, Writer};
use crate::target::Stream;

/// What a request hears from its connection.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    End {
        body: EndRequestBody,
        stdout_ended: bool,
    },
    Failed(ClientError),
}

/// What a request asks of its connection.
pub(crate) enum Command {
    Start {
        role: Role,
        keep_conn: bool,
        params: Vec<(Vec<u8>, Vec<u8>)>,
        /// `None`: no STDIN stream at all (an Authorizer, §6.3).
        /// `Some((bytes, end))`: first STDIN bytes, and whether they are all.
        stdin: Option<(Vec<u8>, bool)>,
        events: mpsc::UnboundedSender<ConnEvent>,
        reply: tokio::sync::oneshot::Sender<Result<RequestId, ClientError>>,
    },
    Stdin {
        id: RequestId,
        data: Vec<u8>,
        end: bool,
    },
    /// The caller gave up on a request (e.g. the HTTP client went away).
    Abort { id: RequestId },
}

/// State shared between a connection's task and the pool.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Requests begun and not yet ended (or reserved by the pool).
    pub active: AtomicUsize,
    /// Requests completed on this connection.
    pub served: AtomicU64,
    /// The task has stopped: the connection is gone.
    pub dead: AtomicBool,
    /// The application refused to multiplex on it.
    pub no_mpx: AtomicBool,
}

/// The pool's handle on a connection.
#[derive(Clone)]
pub(crate) struct Handle {
    pub tx: mpsc::UnboundedSender<Command>,
    pub shared: Arc<Shared>,
}

struct Req {
    events: Option<mpsc::UnboundedSender<ConnEvent>>,
    stdout_bytes: usize,
    aborted_at: Option<Instant>,
}

/// Spawns the task of a freshly connected stream.
pub(crate) fn spawn(stream: Stream, faults: Faults, abort_wait: Duration) -> Handle {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    let mut driver = Driver::new(stream, WebServer::default());
    if let Some(h) = faults.write_hook(Encoder::default()) {
        driver = driver.with_write_hook(h);
    }
    if let Some(h) = faults.read_hook() {
        driver = driver.with_read_hook(h);
    }
    let (reader, writer) = driver.into_parts();
    let task = Task {
        reader,
        writer,
        encoder: Encoder::default(),
        reqs: BTreeMap::new(),
        shared: shared.clone(),
        faults,
        abort_wait,
        keep: true,
        cut: false,
    };
    tokio::spawn(task.run(rx));
    Handle { tx, shared }
}

struct Task {
    reader: Reader<WebServer>,
    writer: Writer,
    encoder: Encoder,
    reqs: BTreeMap<RequestId, Req>,
    shared: Arc<Shared>,
    faults: Faults,
    abort_wait: Duration,
    keep: bool,
    /// A cut fault truncated the last request: close once it is written.
    cut: bool,
}

enum Flow {
    Go,
    Stop,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut commands_open = true;
        loop {
            let deadline = self
                .reqs
                .values()
                .filter_map(|r| r.aborted_at)
                .min()
                .map(|t| t + self.abort_wait);
            let flow = tokio::select! {
                cmd = rx.recv(), if commands_open => match cmd {
                    Some(cmd) => self.command(cmd).await,
                    None => {
                        commands_open = false;
                        if self.reqs.is_empty() { Flow::Stop } else { Flow::Go }
                    }
                },
                n = self.reader.fill() => match n {
                    Ok(0) => {
                        let err = self.reader.finish().err();
                        self.fail_all(|bytes| match &err {
                            Some(e) => ClientError::Malformed(*e),
                            None => ClientError::EarlyClose { response_bytes: bytes },
                        });
                        Flow::Stop
                    }
                    Ok(_) => self.input(),
                    Err(ReadError::Malformed(e)) => {
                        self.fail_all(|_| ClientError::Malformed(e));
                        Flow::Stop
                    }
                    Err(ReadError::Io(e)) => {
                        self.fail_all(|_| ClientError::Io(std::io::Error::new(e.kind(), e.to_string())));
                        Flow::Stop
                    }
                },
                () = sleep_until(deadline) => {
                    // The application did not end an aborted request in time.
                    self.fail_all(|_| ClientError::Timeout);
                    Flow::Stop
                }
            };
            if matches!(flow, Flow::Stop) || (!commands_open && self.reqs.is_empty()) {
                break;
            }
        }
        self.shared.dead.store(true, Ordering::SeqCst);
        let _ = self.writer.shutdown().await;
    }

    fn fail_all(&mut self, make: impl Fn(usize) -> ClientError) {
        for (_, r) in std::mem::take(&mut self.reqs) {
            if let Some(tx) = r.events {
                let _ = tx.send(ConnEvent::Failed(make(r.stdout_bytes)));
            }
        }
        self.shared.dead.store(true, Ordering::SeqCst);
    }

    /// Writes through the driver (and its fault hook); a hook that cut
    /// the bytes closes the connection once they are written.
    async fn write(&mut self, out: &[u8]) -> Result<(), ClientError> {
        if self.writer.send(out).await.map_err(ClientError::Io)? == WriteOutcome::Close {
            self.cut = true;
        }
        Ok(())
    }

    fn params_block(&self, params: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<u8>, ClientError> {
        let mut block = Vec::new();
        for (n, v) in params {
            name_value::encode_pair_with(
                n,
                v,
                LengthForm::shortest(n.len()),
                LengthForm::shortest(v.len()),
                &mut block,
            )
            .map_err(ClientError::Unwritable)?;
        }
        Ok(block)
    }

    async fn command(&mut self, cmd: Command) -> Flow {
        match cmd {
            Command::Start {
                role,
                keep_conn,
                params,
                stdin,
                events,
                reply,
            } => {
                let mut out = Vec::new();
                let r = self.begin(role, keep_conn, &params, stdin, &mut out);
                let id = match r {
                    Ok(id) => id,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return Flow::Go;
                    }
                };
                self.reqs.insert(
                    id,
                    Req {
                        events: Some(events),
                        stdout_bytes: 0,
                        aborted_at: None,
                    },
                );
                let _ = reply.send(Ok(id));
                if let Err(e) = self.write(&out).await {
                    self.fail_all(|_| e.copy());
                    return Flow::Stop;
                }
                if self.cut {
                    // Fault: the request was cut mid-record; the connection goes.
                    self.fail_all(|_| ClientError::EarlyClose { response_bytes: 0 });
                    return Flow::Stop;
                }
                Flow::Go
            }
            Command::Stdin { id, data, end } => {
                if !self.reqs.contains_key(&id) {
                    return Flow::Go;
                }
                let mut out = Vec::new();
                let mut r = Ok(());
                if !data.is_empty() {
                    r = self
                        .reader
                        .party_mut()
                        .stream(StreamType::Stdin, id, &data, &mut out);
                }
                if end && r.is_ok() {
                    r = self
                        .reader
                        .party_mut()
                        .end_stream(StreamType::Stdin, id, &mut out);
                }
                if r.is_err() {
                    return Flow::Go;
                }
                if let Err(e) = self.write(&out).await {
                    self.fail_all(|_| e.copy());
                    return Flow::Stop;
                }
                Flow::Go
            }
            Command::Abort { id } => {
                let Some(req) = self.reqs.get_mut(&id) else {
                    return Flow::Go;
                };
                req.events = None;
                if self.faults.no_abort {
                    // Fault: neither abort nor close; the request is left to run.
                    return Flow::Go;
                }
                let alone = self.reqs.len() == 1;
                if alone && !self.keep {
                    // Not kept open anyway: closing ends the request (R-5.4-4).
                    self.reqs.clear();
                    return Flow::Stop;
                }
                let mut out = Vec::new();
                if self.reader.party_mut().abort_request(id, &mut out).is_err() {
                    return Flow::Go;
                }
                if let Some(r) = self.reqs.get_mut(&id) {
                    r.aborted_at = Some(Instant::now());
                }
                if let Err(e) = self.write(&out).await {
                    self.fail_all(|_| e.copy());
                    return Flow::Stop;
                }
                Flow::Go
            }
        }
    }

    fn begin(
        &mut self,
        role: Role,
        keep_conn: bool,
        params: &[(Vec<u8>, Vec<u8>)],
        stdin: Option<(Vec<u8>, bool)>,
        out: &mut Vec<u8>,
    ) -> Result<RequestId, ClientError> {
        self.keep = keep_conn;
        let free =
            self.reader
                .party()
                .free_id()
                .ok_or(ClientError::Malformed(fcgi_proto::Error::new(
                    ErrorKind::LimitExceeded {
                        limit: fcgi_proto::error::Limit::ConcurrentRequests,
                        max: 65535,
                    },
                    0,
                )))?;
        let block = self.params_block(params)?;
        if self.faults.reuse_active_id
            && free != RequestId::MIN
            && self.reader.party().is_active(RequestId::MIN)
        {
            // Fault: a second request under the id of an active one (R-5.1-6).
            let enc = self.encoder;
            let m = ClientError::Unwritable;
            enc.begin_request(1, role, keep_conn, out).map_err(m)?;
            enc.stream(StreamType::Params, 1, &block, out).map_err(m)?;
            enc.end_stream(StreamType::Params, 1, out).map_err(m)?;
            if let Some((data, end)) = stdin {
                enc.stream(StreamType::Stdin, 1, &data, out).map_err(m)?;
                if end {
                    enc.end_stream(StreamType::Stdin, 1, out).map_err(m)?;
                }
            }
            // Route nothing to it: give it an id of its own on our side.
            return Ok(free);
        }
        let m = ClientError::Unwritable;
        // The ends of streams, the short body, the long value's length and
        // the cuts are the write hook's faults.
        let ws = self.reader.party_mut();
        ws.begin_request(free, role, keep_conn, out).map_err(m)?;
        ws.stream(StreamType::Params, free, &block, out)
            .map_err(m)?;
        ws.end_stream(StreamType::Params, free, out).map_err(m)?;
        if let Some((data, end)) = stdin {
            if !data.is_empty() {
                ws.stream(StreamType::Stdin, free, &data, out).map_err(m)?;
            }
            if end {
                ws.end_stream(StreamType::Stdin, free, out).map_err(m)?;
            }
        }
        Ok(free)
    }

    /// Routes every whole record read so far.
    fn input(&mut self) -> Flow {
        loop {
            let inbound = match self.reader.next_event() {
                Ok(Some(r)) => r,
                Ok(None) => return Flow::Go,
                Err(e) => {
                    self.fail_all(|_| ClientError::Malformed(e));
                    return Flow::Stop;
                }
            };
            let ev = match inbound.event {
                Ok(ev) => ev,
                Err(e) => {
                    let err = |_: usize| match e.kind() {
                        ErrorKind::InactiveRequestId { request_id, .. }
                        | ErrorKind::RequestEnded(request_id) => ClientError::RequestIdMismatch {
                            request_id: *request_id,
                            error: e,
                        },
                        _ => ClientError::Malformed(e),
                    };
                    self.fail_all(err);
                    return Flow::Stop;
                }
            };
            match ev {
                Event::Stdout { request_id, data } => {
                    if let Some(r) = self.reqs.get_mut(&request_id) {
                        r.stdout_bytes += data.len();
                        if let Some(tx) = &r.events {
                            let _ = tx.send(ConnEvent::Stdout(data.to_vec()));
                        }
                    }
                }
                Event::Stderr { request_id, data } => {
                    if let Some(tx) = self.reqs.get(&request_id).and_then(|r| r.events.as_ref()) {
                        let _ = tx.send(ConnEvent::Stderr(data.to_vec()));
                    }
                }
                Event::EndRequest {
                    request_id,
                    body,
                    stdout_ended,
                    keep_conn,
                    ..
                } => {
                    if let Some(r) = self.reqs.remove(&request_id) {
                        if let Some(tx) = r.events {
                            let _ = tx.send(ConnEvent::End { body, stdout_ended });
                        }
                        self.shared.served.fetch_add(1, Ordering::SeqCst);
                        let _ = self.shared.active.fetch_update(
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                            |n| Some(n.saturating_sub(1)),
                        );
                    }
                    if !keep_conn && self.reqs.is_empty() {
                        // The application closes now (R-3.5-1).
                        return Flow::Stop;
                    }
                }
                // Ends of streams, management answers and unknown types need no routing.
                _ => {}
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
