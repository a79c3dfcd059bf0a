//! The web-server oracle: what the runner wrote, decoded back, against the
//! HTTP response the client got ([`judge`]).

use fcgi_proto::record::{ParseOptions, RecordType};
use fcgi_proto::requirement::{self as req};

use crate::app::request::cgi;
use crate::conversation::Finding;
use crate::explore::oracle::finding;
use crate::server::http::HttpResponse;

use super::*;

/// What the records in `sent` carry: STDOUT, STDERR, padding bytes.
fn decode(sent: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>, usize) {
    let (mut out, mut err, mut pad) = (Vec::new(), Vec::new(), 0);
    for r in fcgi_proto::record::records_with(sent, ParseOptions::default()).map_while(Result::ok) {
        pad += usize::from(r.header.padding_length);
        match r.record_type() {
            RecordType::Stdout => out.extend_from_slice(r.content),
            RecordType::Stderr if !r.content.is_empty() => err.push(r.content.to_vec()),
            _ => {}
        }
    }
    (out, err, pad)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Judges the HTTP response to a request the runner answered with `sent`.
pub fn judge(sent: &[u8], resp: &Result<HttpResponse, String>) -> Option<Finding> {
    let (stdout, stderr, pad) = decode(sent);
    let want = cgi(&stdout).ok()?;
    let r = match resp {
        Ok(r) => r,
        Err(e) => {
            return Some(finding(
                "response",
                req::R_5_5_7,
                "an HTTP response once END_REQUEST came".into(),
                e.clone(),
            ))
        }
    };
    if !r.complete {
        return Some(finding(
            "response",
            req::R_5_5_7,
            format!("the whole response of {} body bytes", want.body.len()),
            r.summary(),
        ));
    }
    if r.status != want.status && matches!(r.status, 500 | 502 | 503 | 504) {
        return Some(finding(
            "relayed",
            req::R_6_2_1,
            format!(
                "the application's response relayed (HTTP {}, {} head bytes)",
                want.status,
                stdout.len() - want.body.len()
            ),
            format!("HTTP {} of the server's own", r.status),
        ));
    }
    if r.status != want.status {
        return Some(finding(
            "status",
            req::R_6_1_8,
            format!("HTTP status {} (the CGI head's)", want.status),
            format!("HTTP status {}", r.status),
        ));
    }
    for (n, v) in &want.headers {
        if n.eq_ignore_ascii_case("status") || !n.starts_with("X-Explore-") {
            continue;
        }
        let v = String::from_utf8_lossy(v);
        if r.header(n) != Some(v.trim()) {
            return Some(finding(
                "headers",
                req::R_6_1_8,
                format!("header {n} of {} bytes relayed as sent", v.len()),
                match r.header(n) {
                    Some(g) => format!(
                        "{} bytes: {}",
                        g.len(),
                        fcgi_proto::dump::preview(g.as_bytes(), 48)
                    ),
                    None => "not in the response".into(),
                },
            ));
        }
    }
    if let Some(v) = r.header(INJECTED) {
        return Some(finding(
            "headers",
            req::R_6_1_8,
            "no header but the CGI head's".into(),
            format!("{INJECTED}: {v}, which only the body had"),
        ));
    }
    if r.body != want.body {
        let (property, rq) = if stderr
            .iter()
            .any(|e| contains(&r.body, e) && !contains(want.body, e))
        {
            ("stderr-apart", req::R_5_3_2)
        } else if pad > 0 && r.body.len() > want.body.len() && r.body.contains(&b'#') {
            ("padding-dropped", req::R_3_3_3)
        } else {
            ("body", req::R_6_2_1)
        };
        let at = r
            .body
            .iter()
            .zip(want.body)
            .position(|(a, b)| a != b)
            .unwrap_or(r.body.len().min(want.body.len()));
        return Some(finding(
            property,
            rq,
            format!("the body of {} bytes as STDOUT carried it", want.body.len()),
            format!(
                "{} bytes, first difference at byte {at}: {}",
                r.body.len(),
                fcgi_proto::dump::preview(r.body.get(at..).unwrap_or_default(), 32)
            ),
        ));
    }
    None
}
