//! A small hand-written HTTP/1.1 client for the runner (every wait bounded),
//! and the request-head parser the bundled reference web server uses.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Most bytes of a request or response head.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most bytes of a response body the runner keeps.
pub const MAX_BODY: usize = 16 << 20;

/// An `http://host:port/prefix/` URL (loopback only in practice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Host as written.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path prefix, starting and ending with `/`.
    pub path: String,
}

impl std::str::FromStr for Url {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("http://")
            .ok_or_else(|| format!("'{s}' is not an http:// URL"))?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
            None => (rest, "/"),
        };
        let (host, port) = match hostport.rfind(':') {
            Some(i) if !hostport.ends_with(']') => (
                hostport.get(..i).unwrap_or(""),
                hostport
                    .get(i + 1..)
                    .unwrap_or("")
                    .parse::<u16>()
                    .map_err(|_| format!("bad port in '{s}'"))?,
            ),
            _ => (hostport, 80),
        };
        if host.is_empty() {
            return Err(format!("no host in '{s}'"));
        }
        let mut path = path.to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(Url {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            path,
        })
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "http://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

impl Url {
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How a response body was delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes: a cut can not be told from the end.
    Close,
}

/// A response as the runner saw it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header lines.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// How the body was delimited.
    pub framing: Framing,
    /// Whether the body was complete by its framing.
    pub complete: bool,
    /// Why it is not complete, when it is not.
    pub note: Option<String>,
}

impl HttpResponse {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// One line for reports.
    pub fn summary(&self) -> String {
        format!(
            "HTTP {} ({} body bytes, {}{})",
            self.status,
            self.body.len(),
            match self.framing {
                Framing::Length(n) => format!("Content-Length {n}"),
                Framing::Chunked => "chunked".into(),
                Framing::Close => "delimited by close".into(),
            },
            if self.complete {
                String::new()
            } else {
                format!(", incomplete: {}", self.note.as_deref().unwrap_or("?"))
            }
        )
    }
}

/// Size of the chunks of a request body sent with `Transfer-Encoding: chunked`.
const CHUNK: usize = 1000;

/// One request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method.
    pub method: &'static str,
    /// Path and query after the URL's prefix (no leading `/`).
    pub path: String,
    /// Extra header lines.
    pub headers: Vec<(String, String)>,
    /// Body (sent with Content-Length when not empty or the method is POST).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        HttpRequest {
            method: "GET",
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A POST of `body` to `path`.
    pub fn post(path: impl Into<String>, body: Vec<u8>) -> Self {
        HttpRequest {
            method: "POST",
            path: path.into(),
            headers: Vec::new(),
            body,
        }
    }

    fn bytes(&self, url: &Url) -> Vec<u8> {
        let mut s = format!(
            "{} {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: fcgi-conformance\r\nConnection: close\r\n",
            self.method,
            url.path,
            self.path,
            url.authority()
        );
        for (n, v) in &self.headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        // With a `Transfer-Encoding: chunked` header the body goes in
        // chunks and without Content-Length (RFC 9112 §7.1).
        let chunked = self.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        if chunked {
            s.push_str("Content-Type: application/octet-stream\r\n");
        } else if !self.body.is_empty() || self.method == "POST" {
            s.push_str(&format!(
                "Content-Type: application/octet-stream\r\nContent-Length: {}\r\n",
                self.body.len()
            ));
        }
        s.push_str("\r\n");
        let mut out = s.into_bytes();
        if chunked {
            for piece in self.body.chunks(CHUNK) {
                out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                out.extend_from_slice(piece);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

async fn read_some(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<usize, String> {
    let mut chunk = [0u8; 16 * 1024];
    match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
        Err(_) => Err("timed out".into()),
        Ok(Err(e)) => Err(format!("read error: {e}")),
        Ok(Ok(n)) => {
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            Ok(n)
        }
    }
}

/// A connection with the response head read.
#[derive(Debug)]
pub struct Started {
    /// The socket.
    pub stream: TcpStream,
    /// Status, headers, framing (body empty, complete false).
    pub head: HttpResponse,
    /// Body bytes already read after the head.
    pub rest: Vec<u8>,
}

/// Connects, sends the request and reads the response head.
pub async fn start(url: &Url, req: &HttpRequest, timeout: Duration) -> Result<Started, String> {
    let deadline = Instant::now() + timeout;
    let addr = url.authority();
    let mut s = tokio::time::timeout_at(deadline, TcpStream::connect(&addr))
        .await
        .map_err(|_| format!("connect to {addr} timed out"))?
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = s.set_nodelay(true);
    tokio::time::timeout_at(deadline, s.write_all(&req.bytes(url)))
        .await
        .map_err(|_| "sending the request timed out".to_string())?
        .map_err(|e| format!("sending the request failed: {e}"))?;
    let mut buf = Vec::new();
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err("response head too long".into());
        }
        match read_some(&mut s, &mut buf, deadline).await {
            Ok(0) if buf.is_empty() => return Err("connection closed with no response".into()),
            Ok(0) => return Err("connection closed inside the response head".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("no response head: {e}")),
        }
    };
    let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).to_string();
    let rest = buf.get(end + 4..).unwrap_or_default().to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line '{status_line}'"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let framing =
        if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
            Framing::Chunked
        } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            Framing::Length(n)
        } else if status == 204 || status == 304 || req.method == "HEAD" {
            Framing::Length(0)
        } else {
            Framing::Close
        };
    Ok(Started {
        stream: s,
        head: HttpResponse {
            status,
            headers,
            body: Vec::new(),
            framing,
            complete: false,
            note: None,
        },
        rest,
    })
}

/// Sends one request and reads the whole response, judging whether its
/// body is complete by its framing.
pub async fn send(url: &Url, req: &HttpRequest, timeout: Duration) -> Result<HttpResponse, String> {
    send_telling(url, req, timeout, None).await
}

/// [`send`], telling `head_seen` when the response head has arrived.
pub async fn send_telling(
    url: &Url,
    req: &HttpRequest,
    timeout: Duration,
    head_seen: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<HttpResponse, String> {
    let deadline = Instant::now() + timeout;
    let Started {
        mut stream,
        mut head,
        rest,
    } = start(url, req, timeout).await?;
    if let Some(tx) = head_seen {
        let _ = tx.send(());
    }
    let mut buf = rest;
    match head.framing {
        Framing::Length(n) => {
            while buf.len() < n {
                match read_some(&mut stream, &mut buf, deadline).await {
                    Ok(0) => {
                        head.note = Some(format!("closed after {} of {n} bytes", buf.len()));
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        head.note = Some(format!("{e} after {} of {n} bytes", buf.len()));
                        break;
                    }
                }
                if buf.len() > MAX_BODY {
                    break;
                }
            }
            head.complete = buf.len() >= n;
            buf.truncate(n);
            head.body = buf;
        }
        Framing::Close => {
            loop {
                match read_some(&mut stream, &mut buf, deadline).await {
                    Ok(0) => {
                        head.complete = true;
                        break;
                    }
                    Ok(_) if buf.len() > MAX_BODY => break,
                    Ok(_) => {}
                    Err(e) => {
                        head.note = Some(e);
                        break;
                    }
                }
            }
            head.body = buf;
        }
        Framing::Chunked => {
            let mut body = Vec::new();
            let mut pos = 0usize;
            loop {
                // One chunk: size line, data, CRLF.
                let line_end = loop {
                    if let Some(i) = find(buf.get(pos..).unwrap_or_default(), b"\r\n") {
                        break Some(pos + i);
                    }
                    match read_some(&mut stream, &mut buf, deadline).await {
                        Ok(0) => break None,
                        Ok(_) => {}
                        Err(e) => {
                            head.note = Some(e);
                            break None;
                        }
                    }
                };
                let Some(le) = line_end else {
                    head.note
                        .get_or_insert_with(|| "closed before the last chunk".into());
                    break;
                };
                let line =
                    String::from_utf8_lossy(buf.get(pos..le).unwrap_or_default()).to_string();
                let size_txt = line.split(';').next().unwrap_or("").trim().to_string();
                let Ok(size) = usize::from_str_radix(&size_txt, 16) else {
                    head.note = Some(format!("bad chunk size line '{line}'"));
                    break;
                };
                if size == 0 {
                    head.complete = true;
                    break;
                }
                // A size from the peer: bounded before any arithmetic on it.
                if size > MAX_BODY {
                    head.note = Some(format!("chunk of {size} bytes is over the limit"));
                    break;
                }
                let need = le + 2 + size + 2;
                let mut cut = false;
                while buf.len() < need {
                    match read_some(&mut stream, &mut buf, deadline).await {
                        Ok(0) => {
                            cut = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            head.note = Some(e);
                            cut = true;
                            break;
                        }
                    }
                }
                if cut {
                    body.extend_from_slice(buf.get(le + 2..).unwrap_or_default());
                    head.note
                        .get_or_insert_with(|| "closed inside a chunk".into());
                    break;
                }
                body.extend_from_slice(buf.get(le + 2..le + 2 + size).unwrap_or_default());
                pos = need;
                if body.len() > MAX_BODY {
                    head.note = Some("body too large".into());
                    break;
                }
            }
            head.body = body;
        }
    }
    Ok(head)
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A parsed HTTP/1.1 request head (for the reference web server).
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Method.
    pub method: String,
    /// Request target as sent.
    pub target: String,
    /// Version, e.g. `HTTP/1.1`.
    pub version: String,
    /// Header lines.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a request head (without the blank line).
pub fn parse_request_head(head: &[u8]) -> Result<RequestHead, String> {
    let text = std::str::from_utf8(head).map_err(|_| "request head is not UTF-8".to_string())?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line '{first}'"));
    };
    let mut headers = Vec::new();
    for l in lines {
        let (n, v) = l
            .split_once(':')
            .ok_or_else(|| format!("bad header line '{l}'"))?;
        if n.is_empty() || n.contains(' ') {
            return Err(format!("bad header name in '{l}'"));
        }
        headers.push((n.to_string(), v.trim().to_string()));
    }
    Ok(RequestHead {
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u: Url = "http://127.0.0.1:8080/reuse"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        assert_eq!((u.port, u.path.as_str()), (8080, "/reuse/"));
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/reuse/");
        assert!("ftp://x".parse::<Url>().is_err());
    }

    #[test]
    fn request_heads() {
        let h = parse_request_head(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Y:  z ")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(h.target, "/a?b=1");
        assert_eq!(h.header("x-y"), Some("z"));
        assert!(parse_request_head(b"GET /\r\n").is_err());
    }
}
