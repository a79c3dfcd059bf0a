//! The CGI/1.1 response head (RFC 3875 §6) that a Responder or Authorizer
//! writes on FCGI_STDOUT (§6.2, §6.3): Status, Location, Content-Type,
//! other headers, an authorizer's `Variable-` headers, and where the body starts.

use crate::error::{CgiErrorKind, Error, ErrorKind, Limit};
use crate::record::Status;

/// One header line of the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// The name as written.
    pub name: &'a str,
    /// The value, leading and trailing blanks removed.
    pub value: &'a [u8],
}

/// A parsed CGI response head (RFC 3875 §6.2, §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'a> {
    /// The `Status` header's code, if present.
    pub status: Option<u16>,
    /// The `Status` header's reason phrase, if any.
    pub reason: Option<&'a [u8]>,
    /// The `Location` header, if present.
    pub location: Option<&'a [u8]>,
    /// The `Content-Type` header, if present.
    pub content_type: Option<&'a [u8]>,
    /// Every header line in order, the three above included.
    pub headers: Vec<HeaderField<'a>>,
    /// Offset of the first body byte in the input.
    pub body_offset: usize,
}

impl<'a> Response<'a> {
    /// The HTTP status the response stands for: the Status header, else
    /// 302 for a Location without Status (RFC 3875 §6.2.3), else 200.
    pub fn status_code(&self) -> u16 {
        match (self.status, self.location) {
            (Some(s), _) => s,
            (None, Some(_)) => 302,
            (None, None) => 200,
        }
    }

    /// The first header with `name`, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// An authorizer's `Variable-NAME: value` headers as `(NAME, value)` (§6.3).
    pub fn variables(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + '_ {
        self.headers.iter().filter_map(|h| {
            let prefix = h.name.get(..9)?;
            prefix
                .eq_ignore_ascii_case("Variable-")
                .then(|| h.name.get(9..).map(|n| (n, h.value)))
                .flatten()
        })
    }
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Parses the head at the start of `buf`, accepting `\n` or `\r\n` line
/// ends. Returns [`Status::Partial`] until the blank line that ends the
/// head arrives. At most `max_headers` lines are read
/// ([`crate::Limits::max_cgi_headers`] is the default bound).
pub fn parse_response(buf: &[u8], max_headers: usize) -> Result<Status<Response<'_>>, Error> {
    let mut headers = Vec::new();
    let mut status = None;
    let mut reason = None;
    let mut location = None;
    let mut content_type = None;
    let mut pos = 0usize;
    let cgi = |k: CgiErrorKind, at: usize| Error::new(ErrorKind::Cgi(k), at as u64);
    loop {
        let rest = buf.get(pos..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Ok(Status::Partial(buf.len() + 1));
        };
        let raw = rest.get(..nl).unwrap_or_default();
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line_at = pos;
        pos += nl + 1;
        if line.is_empty() {
            break;
        }
        if headers.len() >= max_headers {
            return Err(Error::new(
                ErrorKind::LimitExceeded {
                    limit: Limit::CgiHeaders,
                    max: max_headers,
                },
                line_at as u64,
            ));
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return Err(cgi(CgiErrorKind::Folding, line_at));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(cgi(CgiErrorKind::MissingColon, line_at))?;
        let name_bytes = line.get(..colon).unwrap_or_default();
        if name_bytes.is_empty() || !name_bytes.iter().all(|&b| is_token(b)) {
            return Err(cgi(CgiErrorKind::BadHeaderName, line_at));
        }
        let name = core::str::from_utf8(name_bytes)
            .map_err(|_| cgi(CgiErrorKind::BadHeaderName, line_at))?;
        let value = trim(line.get(colon + 1..).unwrap_or_default());
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(cgi(CgiErrorKind::BadHeaderValue, line_at + colon + 1));
        }
        if name.eq_ignore_ascii_case("Status") {
            let (code, why) = parse_status(value).ok_or(cgi(CgiErrorKind::BadStatus, line_at))?;
            status = Some(code);
            reason = why;
        } else if name.eq_ignore_ascii_case("Location") {
            location = Some(value);
        } else if name.eq_ignore_ascii_case("Content-Type") {
            content_type = Some(value);
        }
        headers.push(HeaderField { name, value });
    }
    if status.is_none() && location.is_none() && content_type.is_none() {
        return Err(cgi(CgiErrorKind::NoCgiHeader, 0));
    }
    Ok(Status::Complete(Response {
        status,
        reason,
        location,
        content_type,
        headers,
        body_offset: pos,
    }))
}

fn parse_status(v: &[u8]) -> Option<(u16, Option<&[u8]>)> {
    let (digits, rest) = (v.get(..3)?, v.get(3..)?);
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    if !(100..=999).contains(&code) {
        return None;
    }
    match rest {
        [] => Some((code, None)),
        [b' ' | b'\t', reason @ ..] => Some((code, Some(trim(reason)).filter(|r| !r.is_empty()))),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> Response<'_> {
        match parse_response(buf, 64).unwrap() {
            Status::Complete(r) => r,
            Status::Partial(_) => panic!("partial"),
        }
    }

    #[test]
    fn status_headers_and_body() {
        let b = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-A:  b \r\n\r\nbody";
        let r = complete(b);
        assert_eq!(r.status_code(), 404);
        assert_eq!(r.reason, Some(&b"Not Found"[..]));
        assert_eq!(r.header("x-a"), Some(&b"b"[..]));
        assert_eq!(&b[r.body_offset..], b"body");
    }

    #[test]
    fn location_defaults_to_302_and_lf_only() {
        let r = complete(b"Location: http://x/\n\n");
        assert_eq!(r.status_code(), 302);
    }

    #[test]
    fn authorizer_variables() {
        let r = complete(b"Status: 200\r\nVariable-USER: ann\r\nvariable-ROLE: admin\r\n\r\n");
        let v: Vec<_> = r.variables().collect();
        assert_eq!(v, vec![("USER", &b"ann"[..]), ("ROLE", &b"admin"[..])]);
    }

    #[test]
    fn partial_until_blank_line() {
        assert!(matches!(
            parse_response(b"Status: 200\r\n", 8).unwrap(),
            Status::Partial(_)
        ));
    }

    #[test]
    fn malformed_heads() {
        let e = parse_response(b"Content-Type: a\r\nno colon\r\n\r\n", 8).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Cgi(CgiErrorKind::MissingColon));
        assert_eq!(e.offset(), 17);
        let e = parse_response(b"Status: 20x\r\n\r\n", 8).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Cgi(CgiErrorKind::BadStatus));
        let e = parse_response(b"X-A: 1\r\n\r\n", 8).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Cgi(CgiErrorKind::NoCgiHeader));
        let e = parse_response(b"Status: 200\r\n folded\r\n\r\n", 8).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Cgi(CgiErrorKind::Folding));
    }
}
