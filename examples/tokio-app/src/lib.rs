//! A small FastCGI application (a Responder) on tokio, written on
//! fcgi-proto's application state machine
//! ([`fcgi_proto::connection::Application`]): it answers every request
//! by the echo contract (docs/echo-contract.md), answers `FCGI_GET_VALUES`
//! (§4.1) and unknown record types (§4.2), refuses the Authorizer and
//! Filter roles with `FCGI_UNKNOWN_ROLE` (§5.5), ends an aborted request
//! (§5.4), serves interleaved requests on one connection (§3.3) and
//! closes a connection whose request did not ask to keep it (§3.5).
//!
//! `tests/conformance.rs` runs the `fcgi-conformance` application suite
//! against it in-process, one libtest test per case.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::io;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{Application, ApplicationEvent, RequestId};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::management::Values;
use fcgi_proto::role::Role;
use fcgi_proto::stream::StreamType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Most body bytes one request may send (the suite's large-stdin case sends less).
pub const MAX_STDIN: usize = 32 << 20;
/// Most `ECHO_BIG` bytes (the contract's bound, 4 MiB).
pub const MAX_BIG: usize = 4 << 20;
/// What `FCGI_GET_VALUES` learns (§4.1).
pub const VALUES: Values = Values {
    max_conns: Some(64),
    max_reqs: Some(64),
    mpxs_conns: Some(true),
};

/// Serves every connection `listener` accepts, each on its own task, until
/// the runtime stops.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // A connection that fails is closed; the others go on.
            let _ = connection(stream).await;
        });
    }
}

/// One request as it arrives.
#[derive(Default)]
struct Request {
    params_ended: bool,
    stdin_ended: bool,
    /// `ECHO_*` params, as `NAME=VALUE`.
    echo: Vec<String>,
    status: Option<String>,
    stderr: Option<Vec<u8>>,
    big: usize,
    stdin: Vec<u8>,
}

impl Request {
    fn params(&mut self, block: &[u8]) {
        for (name, value) in fcgi_proto::name_value::pairs(block).flatten() {
            if !name.starts_with(b"ECHO_") {
                continue;
            }
            let v = String::from_utf8_lossy(value).into_owned();
            match name {
                b"ECHO_STATUS" => self.status = Some(v.clone()),
                b"ECHO_STDERR" => self.stderr = Some(value.to_vec()),
                b"ECHO_BIG" => self.big = v.parse::<usize>().unwrap_or(0).min(MAX_BIG),
                _ => {}
            }
            self.echo
                .push(format!("{}={v}", String::from_utf8_lossy(name)));
        }
        self.params_ended = true;
    }

    /// The CGI response of the echo contract.
    fn response(&self) -> Vec<u8> {
        let status = match &self.status {
            Some(code) => format!("{code} Echo"),
            None => "200 OK".to_string(),
        };
        let mut out = format!(
            "Status: {status}\r\nContent-Type: text/plain\r\nX-Fcgi-Echo: 1\r\n\r\nFCGI-ECHO/1\n"
        )
        .into_bytes();
        for p in &self.echo {
            out.extend_from_slice(format!("param {p}\n").as_bytes());
        }
        out.extend_from_slice(format!("stdin {}\n", self.stdin.len()).as_bytes());
        out.extend_from_slice(&self.stdin);
        out.resize(out.len() + self.big, b'x');
        out
    }
}

/// Why a connection ends.
enum Close {
    /// The web server's bytes break the protocol: close (§3.3).
    Protocol,
    /// Our own use of the state machine was refused (a bug here).
    Usage(fcgi_proto::error::UsageError),
}

impl From<fcgi_proto::error::UsageError> for Close {
    fn from(e: fcgi_proto::error::UsageError) -> Self {
        Close::Usage(e)
    }
}

/// Answers what one event asks for, writing records into `out`.
fn on_event(
    app: &mut Application,
    requests: &mut HashMap<RequestId, Request>,
    event: ApplicationEvent<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Close> {
    use ApplicationEvent as E;
    let id = match event {
        E::GetValues { query } => return Ok(app.get_values_result(&VALUES, &query, out)?),
        E::UnknownType { record_type, .. } => return Ok(app.unknown_type(record_type, out)?),
        E::BeginRequest {
            request_id, role, ..
        } => {
            if role == Role::Responder {
                requests.insert(request_id, Request::default());
            } else {
                app.end_request(request_id, 0, ProtocolStatus::UnknownRole, out)?;
            }
            return Ok(());
        }
        E::AbortRequest { request_id } => {
            requests.remove(&request_id);
            app.end_request(request_id, 0, ProtocolStatus::RequestComplete, out)?;
            return Ok(());
        }
        E::ParamsEnd { request_id, block } => {
            if let Some(r) = requests.get_mut(&request_id) {
                r.params(&block);
            }
            request_id
        }
        E::Stdin { request_id, data } => {
            if let Some(r) = requests.get_mut(&request_id) {
                if r.stdin.len() + data.len() > MAX_STDIN {
                    requests.remove(&request_id);
                    app.end_request(request_id, 1, ProtocolStatus::Overloaded, out)?;
                    return Ok(());
                }
                r.stdin.extend_from_slice(&data);
            }
            return Ok(());
        }
        E::StdinEnd { request_id } => {
            if let Some(r) = requests.get_mut(&request_id) {
                r.stdin_ended = true;
            }
            request_id
        }
        // PARAMS fragments are gathered by the machine; a Responder has no DATA.
        E::Params { .. } | E::Data { .. } | E::DataEnd { .. } | E::Ignored { .. } => return Ok(()),
    };
    // A request is answered once its params and its body are both whole.
    if requests
        .get(&id)
        .is_some_and(|r| r.params_ended && r.stdin_ended)
    {
        if let Some(r) = requests.remove(&id) {
            app.stream(StreamType::Stdout, id, &r.response(), out)?;
            if let Some(text) = &r.stderr {
                app.stream(StreamType::Stderr, id, text, out)?;
                app.end_stream(StreamType::Stderr, id, out)?;
            }
            app.end_stream(StreamType::Stdout, id, out)?;
            app.end_request(id, 0, ProtocolStatus::RequestComplete, out)?;
        }
    }
    Ok(())
}

/// Serves one connection until the web server closes it, breaks the
/// protocol, or a request without `FCGI_KEEP_CONN` ends (R-3.5-1).
pub async fn connection(mut stream: TcpStream) -> io::Result<()> {
    let mut app = Application::default();
    let mut decoder = Decoder::new();
    let mut requests = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let mut out = Vec::new();
        let mut close = decoder.push(buf.get(..n).unwrap_or_default()).is_err();
        // Bounded: each turn takes one buffered record.
        while !close {
            let record = match decoder.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(_) => {
                    close = true;
                    break;
                }
            };
            let done = match app.handle(&record) {
                Ok(event) => on_event(&mut app, &mut requests, event, &mut out),
                Err(_) => Err(Close::Protocol),
            };
            match done {
                Ok(()) => {}
                Err(Close::Protocol) => close = true,
                Err(Close::Usage(e)) => {
                    return Err(io::Error::other(format!("state machine refused: {e}")))
                }
            }
        }
        stream.write_all(&out).await?;
        if close || app.should_close() {
            stream.shutdown().await?;
            return Ok(());
        }
    }
}
