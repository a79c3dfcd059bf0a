//! Requests the runner sends, in every legal encoding the differential
//! cases need, and the echo contract's answers (docs/echo-contract.md).

use fcgi_proto::stream::StreamType;
use std::collections::BTreeMap;
use std::num::NonZeroU16;

use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::name_value::{encode_pair_with, LengthForm};
use fcgi_proto::role::Role;

/// Params as (name, value) byte strings, in order.
pub type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// One request as the runner will write it.
#[derive(Debug, Clone)]
pub struct Req {
    /// Request id.
    pub id: u16,
    /// Role asked for.
    pub role: Role,
    /// `FCGI_KEEP_CONN`.
    pub keep_conn: bool,
    /// Params in order.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    /// STDIN content; `None` still ends an empty STDIN stream.
    pub stdin: Vec<u8>,
    /// DATA content for a filter; `None` sends no DATA stream.
    pub data: Option<Vec<u8>>,
    /// Padding policy.
    pub padding: Padding,
    /// Largest content per PARAMS record (1 = one-byte records); `None`: 65535.
    pub params_record_size: Option<NonZeroU16>,
    /// Largest content per STDIN/DATA record; `None`: 65535.
    pub stdin_record_size: Option<NonZeroU16>,
    /// Use the 4-byte length form for every name and value.
    pub long_forms: bool,
    /// Put a GET_VALUES record between every two of the request's records.
    pub management_between: bool,
    /// Leave out the STDIN stream entirely (no empty STDIN record).
    pub no_stdin_stream: bool,
}

impl Req {
    /// A Responder request with the runner's base CGI params, `extra`
    /// params (the user's `--param`s) and the given body.
    pub fn responder(id: u16, extra: &[(Vec<u8>, Vec<u8>)], body: &[u8]) -> Req {
        Req::responder_owned(id, extra, body.to_vec())
    }

    /// [`Req::responder`] taking the body it keeps, so that a large body
    /// is not copied.
    pub fn responder_owned(id: u16, extra: &[(Vec<u8>, Vec<u8>)], body: Vec<u8>) -> Req {
        let method: &[u8] = if body.is_empty() { b"GET" } else { b"POST" };
        let mut params: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"GATEWAY_INTERFACE".to_vec(), b"CGI/1.1".to_vec()),
            (b"SERVER_SOFTWARE".to_vec(), b"fcgi-conformance".to_vec()),
            (b"SERVER_PROTOCOL".to_vec(), b"HTTP/1.1".to_vec()),
            (b"SERVER_NAME".to_vec(), b"localhost".to_vec()),
            (b"SERVER_PORT".to_vec(), b"80".to_vec()),
            (b"REMOTE_ADDR".to_vec(), b"127.0.0.1".to_vec()),
            (b"REQUEST_METHOD".to_vec(), method.to_vec()),
            (b"REQUEST_URI".to_vec(), b"/fcgi-conformance".to_vec()),
            (b"SCRIPT_NAME".to_vec(), b"/fcgi-conformance".to_vec()),
            (b"QUERY_STRING".to_vec(), Vec::new()),
            (
                b"CONTENT_LENGTH".to_vec(),
                body.len().to_string().into_bytes(),
            ),
        ];
        if !body.is_empty() {
            params.push((
                b"CONTENT_TYPE".to_vec(),
                b"application/octet-stream".to_vec(),
            ));
        }
        // The user's params replace base params of the same name.
        for (n, v) in extra {
            if let Some(slot) = params.iter_mut().find(|(pn, _)| pn == n) {
                slot.1 = v.clone();
            } else {
                params.push((n.clone(), v.clone()));
            }
        }
        Req {
            id,
            role: Role::Responder,
            keep_conn: false,
            params,
            stdin: body,
            data: None,
            padding: Padding::Align8,
            params_record_size: None,
            stdin_record_size: None,
            long_forms: false,
            management_between: false,
            no_stdin_stream: false,
        }
    }

    /// Adds or replaces a param.
    pub fn param(mut self, name: &str, value: impl Into<Vec<u8>>) -> Req {
        let v = value.into();
        if let Some(slot) = self.params.iter_mut().find(|(n, _)| n == name.as_bytes()) {
            slot.1 = v;
        } else {
            self.params.push((name.as_bytes().to_vec(), v));
        }
        self
    }

    /// Sets `FCGI_KEEP_CONN`.
    pub fn keep(mut self, keep: bool) -> Req {
        self.keep_conn = keep;
        self
    }

    /// The PARAMS block in the chosen length forms.
    pub fn params_block(&self) -> Vec<u8> {
        let mut block = Vec::new();
        for (n, v) in &self.params {
            let (nf, vf) = if self.long_forms {
                (LengthForm::Long, LengthForm::Long)
            } else {
                (LengthForm::shortest(n.len()), LengthForm::shortest(v.len()))
            };
            // Lengths are under 2^31 by construction: the runner builds them.
            let _ = encode_pair_with(n, v, nf, vf, &mut block);
        }
        block
    }

    /// The encoder for one of the request's streams: its padding, records
    /// of at most `size` content bytes.
    fn encoder(&self, size: Option<NonZeroU16>) -> Encoder {
        let enc = Encoder::default().with_padding(self.padding);
        match size {
            Some(max) => enc.with_max_record_content(max),
            None => enc,
        }
    }

    /// The request's records: BEGIN_REQUEST only.
    pub fn begin_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let enc = Encoder::default().with_padding(self.padding);
        let _ = enc.begin_request(self.id, self.role, self.keep_conn, &mut out);
        out
    }

    /// PARAMS stream, ended.
    pub fn params_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let enc = self.encoder(self.params_record_size);
        let _ = enc.stream(StreamType::Params, self.id, &self.params_block(), &mut out);
        let _ = enc.end_stream(StreamType::Params, self.id, &mut out);
        out
    }

    /// STDIN content without its end, then the end record, separately.
    pub fn stdin_parts(&self) -> (Vec<u8>, Vec<u8>) {
        let enc = self.encoder(self.stdin_record_size);
        let mut body = Vec::new();
        let _ = enc.stream(StreamType::Stdin, self.id, &self.stdin, &mut body);
        let mut end = Vec::new();
        let _ = enc.end_stream(StreamType::Stdin, self.id, &mut end);
        (body, end)
    }

    /// DATA stream, ended (empty when the request has no DATA).
    pub fn data_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(d) = &self.data {
            let enc = self.encoder(self.stdin_record_size);
            let _ = enc.stream(StreamType::Data, self.id, d, &mut out);
            let _ = enc.end_stream(StreamType::Data, self.id, &mut out);
        }
        out
    }

    /// The whole request as records, in order.
    pub fn records(&self) -> Vec<Vec<u8>> {
        self.record_iter().collect()
    }

    /// The request's records one at a time, in order, each encoded when it
    /// is taken: a large body is never encoded whole, so a sender holds the
    /// body once and one record of it ([`Req::records`] collects these).
    pub fn record_iter(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        let mut head = vec![self.begin_bytes()];
        split_records(&self.params_bytes(), &mut head);
        let stdin =
            (!self.no_stdin_stream).then(|| self.stream_records(StreamType::Stdin, &self.stdin));
        let data = self
            .data
            .as_deref()
            .map(|d| self.stream_records(StreamType::Data, d));
        let records = head
            .into_iter()
            .chain(stdin.into_iter().flatten())
            .chain(data.into_iter().flatten());
        let mut gv = Vec::new();
        if self.management_between {
            let _ = Encoder::default()
                .with_padding(self.padding)
                .get_values([fcgi_proto::management::MAX_CONNS.as_bytes()], &mut gv);
        }
        records.flat_map(move |r| {
            let between = (!gv.is_empty()).then(|| gv.clone());
            std::iter::once(r).chain(between)
        })
    }

    /// One stream's records (STDIN or DATA, in the request's record size
    /// and padding), then its empty end record, encoded one at a time.
    fn stream_records<'a>(
        &self,
        stream: StreamType,
        content: &'a [u8],
    ) -> impl Iterator<Item = Vec<u8>> + 'a {
        let enc = self.encoder(self.stdin_record_size);
        let id = self.id;
        let size = usize::from(enc.max_record_content().get());
        content
            .chunks(size)
            .map(move |c| {
                let mut r = Vec::new();
                let _ = enc.stream(stream, id, c, &mut r);
                r
            })
            .chain(std::iter::once_with(move || {
                let mut end = Vec::new();
                let _ = enc.end_stream(stream, id, &mut end);
                end
            }))
    }

    /// The whole request as bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.records().concat()
    }
}

fn split_records(bytes: &[u8], out: &mut Vec<Vec<u8>>) {
    for r in fcgi_proto::record::records_with(
        bytes,
        fcgi_proto::record::ParseOptions::default().with_strict_version(false),
    )
    .map_while(Result::ok)
    {
        let len = r.header.record_len();
        let start = usize::try_from(r.offset).unwrap_or(usize::MAX);
        if let Some(b) = bytes.get(start..start.saturating_add(len)) {
            out.push(b.to_vec());
        }
    }
}

/// What an application following the echo contract said it received,
/// borrowed from the response body (a large echo is not copied).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Echo<'a> {
    /// `ECHO_*` params, by name.
    pub params: BTreeMap<String, String>,
    /// The request body it read.
    pub stdin: &'a [u8],
    /// DATA it read (reference application and filters only).
    pub data: Option<&'a [u8]>,
    /// Bytes after the echo (the `ECHO_BIG` filler).
    pub tail: &'a [u8],
}

/// The CGI head and body of a STDOUT stream, the body borrowed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiOut<'a> {
    /// HTTP status the head stands for.
    pub status: u16,
    /// Header lines as (name, value).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: &'a [u8],
}

/// Parses STDOUT as a CGI response (RFC 3875 §6).
pub fn cgi(stdout: &[u8]) -> Result<CgiOut<'_>, String> {
    match fcgi_proto::cgi::parse_response(stdout, fcgi_proto::Limits::default().max_cgi_headers) {
        Ok(fcgi_proto::Status::Complete(r)) => Ok(CgiOut {
            status: r.status_code(),
            headers: r
                .headers
                .iter()
                .map(|h| (h.name.to_string(), h.value.to_vec()))
                .collect(),
            body: stdout.get(r.body_offset..).unwrap_or_default(),
        }),
        Ok(fcgi_proto::Status::Partial(_)) => Err(format!(
            "STDOUT ({} bytes) ends before the blank line that ends the CGI head",
            stdout.len()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses an echo-contract body; `None` if the body is not in that form.
pub fn parse_echo(body: &[u8]) -> Option<Echo<'_>> {
    let mut rest = body.strip_prefix(b"FCGI-ECHO/1\n")?;
    let mut echo = Echo::default();
    // Bounded by the body: each turn consumes a line.
    loop {
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let line = rest.get(..nl)?;
        let after = rest.get(nl + 1..)?;
        if let Some(p) = line.strip_prefix(b"param ") {
            let s = String::from_utf8_lossy(p);
            let (n, v) = s.split_once('=')?;
            echo.params.insert(n.to_string(), v.to_string());
            rest = after;
        } else if let Some(n) = line.strip_prefix(b"stdin ") {
            let len: usize = std::str::from_utf8(n).ok()?.trim().parse().ok()?;
            echo.stdin = after.get(..len)?;
            rest = after.get(len..)?;
            // The reference application also echoes DATA after STDIN.
            if let Some(d) = rest.strip_prefix(b"data ") {
                let nl = d.iter().position(|&b| b == b'\n')?;
                let len: usize = std::str::from_utf8(d.get(..nl)?)
                    .ok()?
                    .trim()
                    .parse()
                    .ok()?;
                let after = d.get(nl + 1..)?;
                echo.data = Some(after.get(..len)?);
                rest = after.get(len..)?;
            }
            echo.tail = rest;
            return Some(echo);
        } else {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fcgi_proto::record::RecordType;

    #[test]
    fn echo_round_trip() {
        let body = b"FCGI-ECHO/1\nparam ECHO_A=1\nparam ECHO_B=x=y\nstdin 3\nabcdata 2\nxyTAIL";
        let e = parse_echo(body).unwrap_or_default();
        assert_eq!(e.params.get("ECHO_B").map(String::as_str), Some("x=y"));
        assert_eq!(e.stdin, b"abc");
        assert_eq!(e.data, Some(&b"xy"[..]));
        assert_eq!(e.tail, b"TAIL");
        assert!(parse_echo(b"hello").is_none());
    }

    #[test]
    fn streamed_records_are_the_whole_encoding() {
        let mut r = Req::responder(3, &[], &[7u8; 200_000]);
        r.data = Some(vec![9u8; 70_000]);
        for size in [None, NonZeroU16::new(1000), NonZeroU16::new(7)] {
            r.stdin_record_size = size;
            let (body, end) = r.stdin_parts();
            let mut whole = r.begin_bytes();
            whole.extend(r.params_bytes());
            whole.extend(body);
            whole.extend(end);
            whole.extend(r.data_bytes());
            assert_eq!(r.bytes(), whole, "record size {size:?}");
            let d = fcgi_proto::dump::dump(&whole);
            assert_eq!(r.records().len(), d.entries.len(), "record size {size:?}");
        }
    }

    #[test]
    fn management_between_and_splitting() {
        let mut r = Req::responder(1, &[], b"hi");
        r.management_between = true;
        r.params_record_size = Some(NonZeroU16::MIN);
        let bytes = r.bytes();
        let d = fcgi_proto::dump::dump(&bytes);
        assert!(d.is_clean());
        let gv = d
            .entries
            .iter()
            .filter(|e| e.record.record_type() == RecordType::GetValues)
            .count();
        assert_eq!(gv * 2, d.entries.len());
    }
}
