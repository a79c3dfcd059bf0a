//! The bundled reference web server: a tiny HTTP/1.1 front that forwards
//! each request through [`crate::client`] to a FastCGI application and
//! answers with the CGI response (§6.2), the Status header as status line.
//!
//! - Bodies go out with chunked encoding, so a response the application
//!   cut short (no END_REQUEST, R-5.5-5) ends without the last chunk and the
//!   HTTP client can tell; a cut before the head is complete is a 502.
//! - STDERR goes to the server's own log, never to the client (§5.3).
//! - When the HTTP client goes away mid-response the request is aborted
//!   with FCGI_ABORT_REQUEST (R-5.4-3).
//! - Paths under [`RefConfig::authorizer_prefix`] are first sent in the
//!   Authorizer role (§6.3): 200 lets the request through to the Responder
//!   with the `Variable-` headers as params, anything else goes to the client.

use std::net::SocketAddr;
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::cgi;
use fcgi_proto::record::Status;
use fcgi_proto::role::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::http::{find, parse_request_head, RequestHead, MAX_HEAD};
use crate::client::{Body, Client, ClientError, Config, Faults, Part, Request};
use crate::target::Addr;

/// Largest request body accepted.
pub const MAX_REQUEST_BODY: usize = 64 << 20;

/// How the reference web server runs.
#[derive(Debug, Clone)]
pub struct RefConfig {
    /// The FastCGI application.
    pub app: Addr,
    /// Path prefix served through the Authorizer role first, e.g. `/auth/`.
    pub authorizer_prefix: Option<String>,
    /// Bound on every wait.
    pub timeout: Duration,
    /// Multiplex requests over one connection (§3.3).
    pub multiplex: bool,
    /// Injected defects (self-check only).
    pub faults: Faults,
}

impl RefConfig {
    /// Defaults: keep connections, multiplex, `/auth/` as Authorizer prefix.
    pub fn new(app: Addr) -> Self {
        RefConfig {
            app,
            authorizer_prefix: Some("/auth/".into()),
            timeout: Duration::from_secs(10),
            multiplex: true,
            faults: Faults::default(),
        }
    }
}

/// A running reference web server; stop it with [`RefServer::stop`].
#[derive(Debug)]
pub struct RefServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    client: Client,
}

impl RefServer {
    /// Binds 127.0.0.1 on an ephemeral port and starts serving.
    pub async fn start(cfg: RefConfig) -> std::io::Result<RefServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut ccfg = Config::new(cfg.app.clone());
        ccfg.keep_conn = true;
        ccfg.multiplex = cfg.multiplex;
        ccfg.timeout = cfg.timeout;
        let client = Client::with_faults(ccfg, cfg.faults);
        let (stop, mut stopped) = watch::channel(false);
        let c = client.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = listener.accept() => {
                        let Ok((s, peer)) = r else { continue };
                        let _ = s.set_nodelay(true);
                        let (c, cfg) = (c.clone(), cfg.clone());
                        tokio::spawn(async move {
                            let _ = serve(s, peer, addr, &c, &cfg).await;
                        });
                    }
                    _ = stopped.changed() => break,
                }
            }
        });
        Ok(RefServer {
            addr,
            stop,
            task,
            client,
        })
    }

    /// The HTTP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits (bounded) for requests in flight, closes connections.
    pub async fn stop(self, wait: Duration) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.client.shutdown(wait).await;
    }
}

async fn write_simple(s: &mut TcpStream, status: u16, reason: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(msg.as_bytes()).await;
}

fn cgi_params(
    head: &RequestHead,
    peer: SocketAddr,
    local: SocketAddr,
    body_len: Option<usize>,
    role: Role,
    faults: &Faults,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let (path, query) = match head.target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (head.target.as_str(), ""),
    };
    let host = head.header("host").unwrap_or("localhost");
    let server_name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let mut p: Vec<(String, String)> = vec![
        ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
        (
            "SERVER_SOFTWARE".into(),
            "fcgi-conformance-reference".into(),
        ),
        ("SERVER_PROTOCOL".into(), head.version.clone()),
        ("SERVER_NAME".into(), server_name.into()),
        ("SERVER_PORT".into(), local.port().to_string()),
        ("SERVER_ADDR".into(), local.ip().to_string()),
        ("REMOTE_ADDR".into(), peer.ip().to_string()),
        ("REMOTE_PORT".into(), peer.port().to_string()),
        ("REQUEST_METHOD".into(), head.method.clone()),
        ("REQUEST_URI".into(), head.target.clone()),
        ("QUERY_STRING".into(), query.into()),
    ];
    // An Authorizer gets none of these (R-6.3-3).
    if role != Role::Authorizer {
        p.push(("SCRIPT_NAME".into(), path.into()));
        p.push(("PATH_INFO".into(), String::new()));
        if let Some(n) = body_len {
            let n = if faults.wrong_content_length {
                n + 1
            } else {
                n
            };
            p.push(("CONTENT_LENGTH".into(), n.to_string()));
        }
    }
    if let Some(ct) = head.header("content-type") {
        p.push(("CONTENT_TYPE".into(), ct.into()));
    }
    for (n, v) in &head.headers {
        if n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("content-type") {
            continue;
        }
        let name = format!("HTTP_{}", n.to_ascii_uppercase().replace('-', "_"));
        if let Some(e) = p.iter_mut().find(|(k, _)| *k == name) {
            e.1.push_str(", ");
            e.1.push_str(v);
        } else {
            p.push((name, v.clone()));
        }
    }
    p.into_iter()
        .map(|(n, v)| (n.into_bytes(), v.into_bytes()))
        .collect()
}

async fn serve(
    mut s: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    client: &Client,
    cfg: &RefConfig,
) -> std::io::Result<()> {
    // The request head and body, every read bounded.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            write_simple(&mut s, 431, "Request Header Fields Too Large", "").await;
            return Ok(());
        }
        match tokio::time::timeout(cfg.timeout, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    };
    let head = match parse_request_head(buf.get(..head_end).unwrap_or_default()) {
        Ok(h) => h,
        Err(e) => {
            write_simple(&mut s, 400, "Bad Request", &e).await;
            return Ok(());
        }
    };
    if head.header("transfer-encoding").is_some() {
        write_simple(
            &mut s,
            411,
            "Length Required",
            "chunked request bodies are not supported\n",
        )
        .await;
        return Ok(());
    }
    let body_len = match head.header("content-length").map(str::parse::<usize>) {
        None => None,
        Some(Ok(n)) if n <= MAX_REQUEST_BODY => Some(n),
        Some(_) => {
            write_simple(&mut s, 413, "Payload Too Large", "").await;
            return Ok(());
        }
    };
    let mut body = buf.get(head_end + 4..).unwrap_or_default().to_vec();
    let want = body_len.unwrap_or(0);
    while body.len() < want {
        match tokio::time::timeout(cfg.timeout, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(n)) => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
    body.truncate(want);

    let path = head.target.split('?').next().unwrap_or("/");
    let mut extra: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if let Some(prefix) = &cfg.authorizer_prefix {
        if path.starts_with(prefix.as_str()) {
            let req = Request {
                role: Role::Authorizer,
                params: cgi_params(&head, peer, local, None, Role::Authorizer, &cfg.faults),
                body: Body::None,
            };
            let resp = match client.request(req).await {
                Ok(r) => r.collect().await,
                Err(e) => Err(e),
            };
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    write_simple(&mut s, 502, "Bad Gateway", &format!("authorizer: {e}\n")).await;
                    return Ok(());
                }
            };
            let head_ok = match cgi::parse_response(
                &resp.stdout,
                fcgi_proto::Limits::default().max_cgi_headers,
            ) {
                Ok(Status::Complete(r)) => Some(r),
                _ => None,
            };
            let Some(r) =
                head_ok.filter(|_| resp.protocol_status == ProtocolStatus::RequestComplete)
            else {
                write_simple(
                    &mut s,
                    502,
                    "Bad Gateway",
                    "authorizer gave no valid response\n",
                )
                .await;
                return Ok(());
            };
            if r.status_code() != 200 {
                // Denied: status, headers and body go to the client (R-6.3-4).
                let mut out = status_line(r.status_code(), r.reason);
                for h in r
                    .headers
                    .iter()
                    .filter(|h| !h.name.eq_ignore_ascii_case("status"))
                {
                    out.extend_from_slice(h.name.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(h.value);
                    out.extend_from_slice(b"\r\n");
                }
                let b = resp.stdout.get(r.body_offset..).unwrap_or_default();
                out.extend_from_slice(
                    format!("Content-Length: {}\r\nConnection: close\r\n\r\n", b.len()).as_bytes(),
                );
                out.extend_from_slice(b);
                let _ = s.write_all(&out).await;
                return Ok(());
            }
            // Granted: Variable- headers become params of the next request (R-6.3-1).
            extra = r
                .variables()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec()))
                .collect();
        }
    }
    let mut params = cgi_params(&head, peer, local, body_len, Role::Responder, &cfg.faults);
    params.extend(extra);
    // Fault: the body's tail waits for the response's end (see
    // `Faults::end_before_stdin_fails`).
    let mut held = None;
    let body = if cfg.faults.end_before_stdin_fails && body.len() > HELD_TAIL {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let tail = body
            .get(body.len() - HELD_TAIL..)
            .unwrap_or_default()
            .to_vec();
        let head_part = body
            .get(..body.len() - HELD_TAIL)
            .unwrap_or_default()
            .to_vec();
        let _ = tx.send(head_part).await;
        held = Some((tx, tail));
        Body::Stream(rx)
    } else {
        Body::Bytes(body)
    };
    let req = Request {
        role: Role::Responder,
        params,
        body,
    };
    respond(s, client.request(req).await, cfg, held).await
}

/// The body's tail the `end_before_stdin_fails` fault holds back.
const HELD_TAIL: usize = 64 * 1024;

fn status_line(code: u16, reason: Option<&[u8]>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {code} ").into_bytes();
    match reason {
        Some(r) if !r.is_empty() => out.extend_from_slice(r),
        _ => out.extend_from_slice(default_reason(code).as_bytes()),
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn default_reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn gateway_error(e: &ClientError) -> (u16, &'static str) {
    match e {
        ClientError::Timeout => (504, "Gateway Timeout"),
        _ => (502, "Bad Gateway"),
    }
}

async fn respond(
    mut s: TcpStream,
    stream: Result<crate::client::ResponseStream, ClientError>,
    cfg: &RefConfig,
    held: Option<(tokio::sync::mpsc::Sender<Vec<u8>>, Vec<u8>)>,
) -> std::io::Result<()> {
    let mut stream = match stream {
        Ok(r) => r,
        Err(e) => {
            let (c, r) = gateway_error(&e);
            write_simple(&mut s, c, r, &format!("{e}\n")).await;
            return Ok(());
        }
    };
    let (mut rd, mut wr) = s.split();
    let mut head_buf: Vec<u8> = Vec::new();
    let mut head_sent = false;
    let mut scratch = [0u8; 1024];
    loop {
        let part = tokio::select! {
            p = stream.next() => p,
            n = rd.read(&mut scratch) => match n {
                // The HTTP client went away: dropping the stream aborts (R-5.4-3).
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => continue,
            },
        };
        match part {
            Some(Ok(Part::Stdout(d))) => {
                if head_sent {
                    if !d.is_empty() && wr.write_all(&chunk_or_raw(&d, cfg)).await.is_err() {
                        return Ok(());
                    }
                    continue;
                }
                head_buf.extend_from_slice(&d);
                match cgi::parse_response(&head_buf, fcgi_proto::Limits::default().max_cgi_headers)
                {
                    Ok(Status::Partial(_)) => {}
                    Ok(Status::Complete(r)) => {
                        let code = if cfg.faults.ignore_status {
                            200
                        } else {
                            r.status_code()
                        };
                        let mut out = status_line(
                            code,
                            if cfg.faults.ignore_status {
                                None
                            } else {
                                r.reason
                            },
                        );
                        for h in r.headers.iter().filter(|h| {
                            ![
                                "status",
                                "content-length",
                                "transfer-encoding",
                                "connection",
                            ]
                            .iter()
                            .any(|x| h.name.eq_ignore_ascii_case(x))
                        }) {
                            out.extend_from_slice(h.name.as_bytes());
                            out.extend_from_slice(b": ");
                            out.extend_from_slice(h.value);
                            out.extend_from_slice(b"\r\n");
                        }
                        if cfg.faults.truncated_as_complete {
                            out.extend_from_slice(b"Connection: close\r\n\r\n");
                        } else {
                            out.extend_from_slice(
                                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                            );
                        }
                        let b = head_buf.get(r.body_offset..).unwrap_or_default().to_vec();
                        if !b.is_empty() {
                            out.extend_from_slice(&chunk_or_raw(&b, cfg));
                        }
                        head_sent = true;
                        if wr.write_all(&out).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        drop(stream);
                        write_simple_half(
                            &mut wr,
                            502,
                            "Bad Gateway",
                            &format!("bad CGI response head: {e}\n"),
                        )
                        .await;
                        return Ok(());
                    }
                }
            }
            Some(Ok(Part::Stderr(d))) => {
                if cfg.faults.stderr_in_body && head_sent {
                    let _ = wr.write_all(&chunk_or_raw(&d, cfg)).await;
                } else {
                    eprintln!(
                        "reference web server: application stderr: {}",
                        String::from_utf8_lossy(&d).trim_end()
                    );
                }
            }
            Some(Ok(Part::End {
                protocol_status, ..
            })) => {
                if held.is_some() {
                    // Fault: the request ended before all of STDIN was
                    // sent, taken as a broken response: cut off.
                    if !head_sent {
                        write_simple_half(
                            &mut wr,
                            502,
                            "Bad Gateway",
                            "application ended the request before STDIN\n",
                        )
                        .await;
                    }
                    return Ok(());
                }
                if !head_sent {
                    let (c, r) = match protocol_status {
                        ProtocolStatus::RequestComplete => (502, "Bad Gateway"),
                        _ => (503, "Service Unavailable"),
                    };
                    write_simple_half(
                        &mut wr,
                        c,
                        r,
                        &format!(
                            "application ended the request with {} and no response\n",
                            protocol_status.name()
                        ),
                    )
                    .await;
                    return Ok(());
                }
                if !cfg.faults.truncated_as_complete {
                    let _ = wr.write_all(b"0\r\n\r\n").await;
                }
                let _ = wr.shutdown().await;
                return Ok(());
            }
            Some(Err(e)) => {
                if !head_sent {
                    let (c, r) = gateway_error(&e);
                    write_simple_half(&mut wr, c, r, &format!("{e}\n")).await;
                } else if cfg.faults.truncated_as_complete {
                    let _ = wr.shutdown().await;
                }
                // Otherwise: close without the last chunk, so the cut shows.
                return Ok(());
            }
            None => return Ok(()),
        }
    }
}

fn chunk(d: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", d.len()).into_bytes();
    out.extend_from_slice(d);
    out.extend_from_slice(b"\r\n");
    out
}

fn chunk_or_raw(d: &[u8], cfg: &RefConfig) -> Vec<u8> {
    if cfg.faults.truncated_as_complete {
        d.to_vec()
    } else {
        chunk(d)
    }
}

async fn write_simple_half(
    wr: &mut tokio::net::tcp::WriteHalf<'_>,
    status: u16,
    reason: &str,
    body: &str,
) {
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = wr.write_all(msg.as_bytes()).await;
}
