//! A tokio FastCGI client: the web server's side of the protocol (§3–§6),
//! built on `fcgi_proto::connection::web_server::Connection` and `fcgi_proto::decoder::Decoder`.
//!
//! - Connection reuse with `FCGI_KEEP_CONN` (§5.1, R-5.1-2) and, optionally,
//!   many requests multiplexed over one connection (§3.3).
//! - Extra params added to every request ([`Config::extra_params`]).
//! - A limit on response size ([`Config::max_response_bytes`]).
//! - Typed errors ([`ClientError`]): request id mismatch, early close,
//!   malformed records, timeouts.
//! - One retry on a fresh connection when a reused idle connection turns out
//!   to be closed by the application before any byte of the response (the
//!   stale-connection race), only for a body that can be replayed; and one
//!   retry when the application answers `FCGI_CANT_MPX_CONN` (R-5.5-2).
//! - [`Client::shutdown`] waits for requests in flight.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use fcgi_conformance::__private::client::{Client, Config, Request};
//! let client = Client::new(Config::new("127.0.0.1:9000".parse()?));
//! let mut req = Request::get();
//! req.param("SCRIPT_FILENAME", "/srv/www/index.php");
//! let resp = client.request(req).await?.collect().await?;
//! println!("{}", String::from_utf8_lossy(&resp.stdout));
//! client.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

mod conn;
mod error;
mod faults;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::RequestId;
use fcgi_proto::role::Role;
use tokio::sync::{mpsc, oneshot, Notify};

pub use error::ClientError;
pub use faults::Faults;

use crate::target::{self, Addr};
use conn::{Command, ConnEvent, Handle};

/// How the client talks to one application.
#[derive(Debug, Clone)]
pub struct Config {
    /// The application's address.
    pub addr: Addr,
    /// Ask the application to keep connections open (`FCGI_KEEP_CONN`, R-5.1-2) and reuse them.
    pub keep_conn: bool,
    /// Run several requests at once over one connection (§3.3); requires `keep_conn`.
    pub multiplex: bool,
    /// Most requests at once on one multiplexed connection.
    pub max_requests_per_conn: usize,
    /// Most idle connections kept open.
    pub max_idle: usize,
    /// Params added to every request.
    pub extra_params: Vec<(Vec<u8>, Vec<u8>)>,
    /// Most STDOUT bytes accepted for one response.
    pub max_response_bytes: usize,
    /// Bound on connecting and on each wait for the application.
    pub timeout: Duration,
}

impl Config {
    /// Defaults: keep connections, no multiplexing, 64 MiB responses, 30 s timeout.
    pub fn new(addr: Addr) -> Self {
        Config {
            addr,
            keep_conn: true,
            multiplex: false,
            max_requests_per_conn: 16,
            max_idle: 8,
            extra_params: Vec::new(),
            max_response_bytes: 64 << 20,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The request body on FCGI_STDIN (§5.3).
#[derive(Debug)]
pub enum Body {
    /// No STDIN stream at all (the Authorizer role, R-6.3-2).
    None,
    /// All bytes at hand: can be replayed on a fresh connection.
    Bytes(Vec<u8>),
    /// Bytes arriving in chunks; cannot be replayed.
    Stream(mpsc::Receiver<Vec<u8>>),
}

/// One request: role, params and body.
#[derive(Debug)]
pub struct Request {
    /// The role (§6).
    pub role: Role,
    /// Params (§5.2), in order; [`Config::extra_params`] are added after them.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    /// The body.
    pub body: Body,
}

impl Request {
    /// A Responder request with no params and an empty body.
    pub fn get() -> Self {
        Request {
            role: Role::Responder,
            params: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    /// Adds one param.
    pub fn param(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.params
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }
}

/// A piece of the response, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// FCGI_STDOUT bytes (§5.3).
    Stdout(Vec<u8>),
    /// FCGI_STDERR bytes (§5.3).
    Stderr(Vec<u8>),
    /// FCGI_END_REQUEST (§5.5): the request is over.
    End {
        /// appStatus.
        app_status: u32,
        /// protocolStatus.
        protocol_status: ProtocolStatus,
        /// Whether STDOUT was ended by its empty record first (R-5.3-1).
        stdout_ended: bool,
    },
}

/// A whole response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// FCGI_STDOUT, concatenated.
    pub stdout: Vec<u8>,
    /// FCGI_STDERR, concatenated.
    pub stderr: Vec<u8>,
    /// appStatus.
    pub app_status: u32,
    /// protocolStatus.
    pub protocol_status: ProtocolStatus,
    /// Whether STDOUT was ended by its empty record.
    pub stdout_ended: bool,
}

#[derive(Default)]
struct Inflight {
    count: AtomicUsize,
    notify: Notify,
}

struct InflightGuard(Arc<Inflight>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
}

struct Inner {
    config: Config,
    /// Defects injected by the self-check (none outside it).
    faults: Faults,
    pool: Mutex<Vec<Handle>>,
    inflight: Arc<Inflight>,
    closing: AtomicBool,
}

/// A FastCGI client for one application address; cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.inner.config.addr)
            .finish()
    }
}

impl Client {
    /// A client; connects lazily.
    pub fn new(config: Config) -> Self {
        Client::with_faults(config, Faults::default())
    }

    /// A client whose connections carry the self-check's `faults`
    /// (the bundled reference web server's, never a user's).
    pub(crate) fn with_faults(config: Config, faults: Faults) -> Self {
        Client {
            inner: Arc::new(Inner {
                config,
                faults,
                pool: Mutex::new(Vec::new()),
                inflight: Arc::new(Inflight::default()),
                closing: AtomicBool::new(false),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Starts a request; read the response from the returned stream.
    pub async fn request(&self, req: Request) -> Result<ResponseStream, ClientError> {
        if self.inner.closing.load(Ordering::SeqCst) {
            return Err(ClientError::ShuttingDown);
        }
        self.inner.inflight.count.fetch_add(1, Ordering::SeqCst);
        let guard = InflightGuard(self.inner.inflight.clone());
        let mut params = req.params;
        params.extend(self.inner.config.extra_params.iter().cloned());
        let (replay, stream_body) = match req.body {
            Body::None => (Some(None), None),
            Body::Bytes(b) => (Some(Some(b)), None),
            Body::Stream(rx) => (None, Some(rx)),
        };
        let mut rs = ResponseStream {
            client: self.clone(),
            role: req.role,
            params,
            replay,
            rx: None,
            conn: None,
            id: RequestId::MIN,
            reused: false,
            retried: false,
            stdout_bytes: 0,
            seen_any: false,
            done: false,
            _guard: guard,
        };
        rs.start(false, stream_body).await?;
        Ok(rs)
    }

    fn pick(&self, fresh_only: bool) -> Option<Handle> {
        let cfg = &self.inner.config;
        if !cfg.keep_conn || fresh_only {
            return None;
        }
        let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.retain(|h| !h.shared.dead.load(Ordering::SeqCst));
        for h in pool.iter() {
            let active = h.shared.active.load(Ordering::SeqCst);
            let limit = if cfg.multiplex && !h.shared.no_mpx.load(Ordering::SeqCst) {
                cfg.max_requests_per_conn.max(1)
            } else {
                1
            };
            if active < limit {
                h.shared.active.fetch_add(1, Ordering::SeqCst);
                return Some(h.clone());
            }
        }
        None
    }

    async fn connect(&self) -> Result<Handle, ClientError> {
        let cfg = &self.inner.config;
        let stream = target::connect(&cfg.addr, cfg.timeout)
            .await
            .map_err(ClientError::Connect)?;
        let h = conn::spawn(stream, self.inner.faults, cfg.timeout);
        h.shared.active.store(1, Ordering::SeqCst);
        if cfg.keep_conn {
            let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
            pool.retain(|h| !h.shared.dead.load(Ordering::SeqCst));
            if pool.len() < cfg.max_idle.max(1) {
                pool.push(h.clone());
            }
        }
        Ok(h)
    }

    /// Connections open now (idle or busy) in the pool.
    pub fn open_connections(&self) -> usize {
        let pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.iter()
            .filter(|h| !h.shared.dead.load(Ordering::SeqCst))
            .count()
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.inner.inflight.count.load(Ordering::SeqCst)
    }

    /// Stops taking requests, waits (at most `wait`) for those in flight,
    /// then closes every connection. Returns the number still in flight
    /// when it gave up waiting (0 on a clean shutdown).
    pub async fn shutdown(&self, wait: Duration) -> usize {
        self.inner.closing.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.inner.inflight.notify.notified();
            if self.in_flight() == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        let left = self.in_flight();
        // Dropping the handles closes idle connections (their tasks stop).
        self.inner
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        left
    }
}

/// The response of one request, read part by part. Dropping it before the
/// end aborts the request (FCGI_ABORT_REQUEST, §5.4, or closing the
/// connection when it is not kept, R-5.4-4).
pub struct ResponseStream {
    client: Client,
    role: Role,
    params: Vec<(Vec<u8>, Vec<u8>)>,
    /// The body to replay: `Some(None)` no STDIN, `Some(Some(b))` bytes; `None` not replayable.
    replay: Option<Option<Vec<u8>>>,
    rx: Option<mpsc::UnboundedReceiver<ConnEvent>>,
    conn: Option<Handle>,
    /// The id on the connection; `RequestId::MIN` until `start` has one.
    id: RequestId,
    reused: bool,
    retried: bool,
    stdout_bytes: usize,
    seen_any: bool,
    done: bool,
    _guard: InflightGuard,
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream")
            .field("request_id", &self.id)
            .field("reused", &self.reused)
            .field("retried", &self.retried)
            .finish()
    }
}

impl ResponseStream {
    async fn start(
        &mut self,
        fresh: bool,
        stream_body: Option<mpsc::Receiver<Vec<u8>>>,
    ) -> Result<(), ClientError> {
        let cfg = self.client.inner.config.clone();
        for attempt in 0..2 {
            let (conn, reused) = match self.client.pick(fresh || attempt > 0) {
                Some(h) => (h, true),
                None => (self.client.connect().await?, false),
            };
            let (etx, erx) = mpsc::unbounded_channel();
            let (rtx, rrx) = oneshot::channel();
            let stdin = match (&self.replay, &stream_body) {
                (Some(None), _) => None,
                (Some(Some(b)), _) => Some((b.clone(), true)),
                (None, _) => Some((Vec::new(), false)),
            };
            let cmd = Command::Start {
                role: self.role,
                keep_conn: cfg.keep_conn,
                params: self.params.clone(),
                stdin,
                events: etx,
                reply: rtx,
            };
            let sent = conn.tx.send(cmd).is_ok();
            let id = match (sent, rrx.await) {
                (true, Ok(Ok(id))) => id,
                (true, Ok(Err(e))) => {
                    conn.shared.active.fetch_sub(1, Ordering::SeqCst);
                    return Err(e);
                }
                // The connection's task had already stopped: a closed idle connection.
                _ => {
                    conn.shared.dead.store(true, Ordering::SeqCst);
                    if reused && attempt == 0 {
                        continue;
                    }
                    return Err(ClientError::EarlyClose { response_bytes: 0 });
                }
            };
            self.id = id;
            self.reused = reused;
            self.rx = Some(erx);
            if let Some(mut body) = stream_body {
                let tx = conn.tx.clone();
                tokio::spawn(async move {
                    while let Some(chunk) = body.recv().await {
                        if tx
                            .send(Command::Stdin {
                                id,
                                data: chunk,
                                end: false,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    let _ = tx.send(Command::Stdin {
                        id,
                        data: Vec::new(),
                        end: true,
                    });
                });
            }
            self.conn = Some(conn);
            return Ok(());
        }
        Err(ClientError::EarlyClose { response_bytes: 0 })
    }

    /// The request id used on the connection.
    pub fn request_id(&self) -> RequestId {
        self.id
    }

    /// Whether the request went over a connection used before.
    pub fn reused_connection(&self) -> bool {
        self.reused
    }

    /// Whether the request was sent again on a fresh connection.
    pub fn retried(&self) -> bool {
        self.retried
    }

    /// The next part; `None` after [`Part::End`].
    pub async fn next(&mut self) -> Option<Result<Part, ClientError>> {
        if self.done {
            return None;
        }
        let timeout = self.client.inner.config.timeout;
        loop {
            let rx = self.rx.as_mut()?;
            let ev = match tokio::time::timeout(timeout, rx.recv()).await {
                Ok(Some(ev)) => ev,
                Ok(None) => ConnEvent::Failed(ClientError::EarlyClose {
                    response_bytes: self.stdout_bytes,
                }),
                Err(_) => {
                    self.fail();
                    return Some(Err(ClientError::Timeout));
                }
            };
            match ev {
                ConnEvent::Stdout(d) => {
                    self.seen_any = true;
                    self.stdout_bytes += d.len();
                    let limit = self.client.inner.config.max_response_bytes;
                    if self.stdout_bytes > limit {
                        self.fail();
                        return Some(Err(ClientError::ResponseTooLarge { limit }));
                    }
                    return Some(Ok(Part::Stdout(d)));
                }
                ConnEvent::Stderr(d) => {
                    self.seen_any = true;
                    return Some(Ok(Part::Stderr(d)));
                }
                ConnEvent::End { body, stdout_ended } => {
                    let refused = body.protocol_status == ProtocolStatus::CantMpxConn;
                    if refused && !self.seen_any && self.can_retry() {
                        if let Some(c) = &self.conn {
                            c.shared.no_mpx.store(true, Ordering::SeqCst);
                        }
                        if let Err(e) = self.retry().await {
                            self.done = true;
                            return Some(Err(e));
                        }
                        continue;
                    }
                    self.done = true;
                    self.conn = None;
                    return Some(Ok(Part::End {
                        app_status: body.app_status,
                        protocol_status: body.protocol_status,
                        stdout_ended,
                    }));
                }
                ConnEvent::Failed(e) => {
                    let stale = self.reused
                        && !self.seen_any
                        && e.closed_before_response()
                        && !self.client.inner.faults.no_stale_retry;
                    if stale && self.can_retry() {
                        if let Err(e) = self.retry().await {
                            self.done = true;
                            return Some(Err(e));
                        }
                        continue;
                    }
                    self.done = true;
                    self.conn = None;
                    return Some(Err(e));
                }
            }
        }
    }

    fn can_retry(&self) -> bool {
        !self.retried && self.replay.is_some()
    }

    async fn retry(&mut self) -> Result<(), ClientError> {
        self.retried = true;
        self.conn = None;
        self.rx = None;
        self.start(true, None).await
    }

    fn fail(&mut self) {
        self.done = true;
        if let Some(c) = self.conn.take() {
            let _ = c.tx.send(Command::Abort { id: self.id });
        }
    }

    /// Reads the whole response.
    pub async fn collect(mut self) -> Result<Response, ClientError> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        while let Some(part) = self.next().await {
            match part? {
                Part::Stdout(d) => stdout.extend_from_slice(&d),
                Part::Stderr(d) => stderr.extend_from_slice(&d),
                Part::End {
                    app_status,
                    protocol_status,
                    stdout_ended,
                } => {
                    return Ok(Response {
                        stdout,
                        stderr,
                        app_status,
                        protocol_status,
                        stdout_ended,
                    })
                }
            }
        }
        Err(ClientError::EarlyClose {
            response_bytes: stdout.len(),
        })
    }
}

impl Drop for ResponseStream {
    fn drop(&mut self) {
        if !self.done {
            self.fail();
        }
    }
}
