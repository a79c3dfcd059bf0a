//! The defects the self-check injects into the runner's web-server side
//! (the client library under the bundled reference web server), and the
//! driver hooks that inject the byte-level ones: ends of streams left out,
//! a request cut mid-record, padding misread. The rest are choices the
//! connection makes (an id reused, a body cut short, no abort, no retry).

use fcgi_proto::name_value;
use fcgi_proto::record::{Header, RecordType, HEADER_LEN};

use crate::driver::{ReadHook, WriteHook, WriteOutcome};

/// Defects the conformance self-check injects into the bundled web-server
/// side, to prove that the server suite notices them. All off by default;
/// never turn one on outside tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Leave out the empty PARAMS record that ends the stream (breaks R-5.2-1).
    pub no_params_end: bool,
    /// Leave out the empty STDIN record (breaks R-5.3-1).
    pub no_stdin_end: bool,
    /// Send one byte less of the body than CONTENT_LENGTH says (breaks R-6.2-3).
    pub short_stdin: bool,
    /// Begin a second concurrent request under the id of an active one (breaks R-5.1-6).
    pub reuse_active_id: bool,
    /// Write a value longer than 127 bytes with a one-byte length (breaks R-3.4-2).
    pub long_value_short_form: bool,
    /// Read records as if paddingLength were always 0 (breaks R-3.3-3).
    pub ignore_padding: bool,
    /// Neither abort nor close when the caller gives up on a request (R-5.4-3, R-5.4-4).
    pub no_abort: bool,
    /// Never retry on a fresh connection after a stale one (the stale-connection race).
    pub no_stale_retry: bool,
    /// Reference web server: CONTENT_LENGTH one more than the body (breaks R-6.2-3).
    pub wrong_content_length: bool,
    /// Reference web server: present a response cut short as complete (R-5.5-5).
    pub truncated_as_complete: bool,
    /// Reference web server: copy STDERR into the HTTP body (§5.3, R-5.3-2).
    pub stderr_in_body: bool,
    /// Reference web server: answer 200 whatever the CGI Status header says (R-6.1-8).
    pub ignore_status: bool,
    /// Cut BEGIN_REQUEST mid-record (its header and half its body), then
    /// close the connection, for requests whose REQUEST_URI contains this
    /// text: no whole request ever reaches the application.
    pub cut_begin_for: Option<&'static str>,
    /// Send BEGIN_REQUEST whole, cut the first PARAMS record mid-record,
    /// then close the connection, for requests whose REQUEST_URI contains
    /// this text.
    pub cut_params_for: Option<&'static str>,
    /// Send FCGI_GET_VALUES under the request's own (nonzero) id between
    /// its PARAMS and its STDIN (breaks R-A-3).
    pub management_nonzero_id: bool,
    /// Reference web server: hold back the last 64 KiB of a longer body
    /// until the response has ended, and cut the response off when the
    /// application ended the request before it had all of STDIN (breaks
    /// R-5.5-7).
    pub end_before_stdin_fails: bool,
}

impl Faults {
    /// The write hook for these faults, if any of them is on the write path.
    pub(crate) fn write_hook(&self) -> Option<Box<dyn WriteHook>> {
        let any = self.no_params_end
            || self.no_stdin_end
            || self.cut_begin_for.is_some()
            || self.cut_params_for.is_some();
        any.then(|| Box::new(WriteFaults(*self)) as Box<dyn WriteHook>)
    }

    /// The read hook for these faults, if any of them is on the read path.
    pub(crate) fn read_hook(&self) -> Option<Box<dyn ReadHook>> {
        self.ignore_padding
            .then(|| Box::new(PaddingIgnorer::default()) as Box<dyn ReadHook>)
    }
}

/// The write-path faults. Each write of the connection holds whole records
/// of our own making, so it is walked record by record.
struct WriteFaults(Faults);

impl WriteHook for WriteFaults {
    fn on_write(&mut self, bytes: &mut Vec<u8>) -> WriteOutcome {
        let f = self.0;
        let mut out = Vec::with_capacity(bytes.len());
        // The BEGIN_REQUEST this write opens with, and its PARAMS content.
        let mut begin: Option<usize> = None;
        let mut params = Vec::new();
        let mut at = 0usize;
        while let Some(h) = bytes.get(at..).and_then(Header::from_slice) {
            let len = h.record_len();
            let Some(rec) = bytes.get(at..at + len) else {
                break;
            };
            at += len;
            let content = rec
                .get(HEADER_LEN..HEADER_LEN + usize::from(h.content_length))
                .unwrap_or_default();
            let t = h.record_type;
            let empty = content.is_empty();
            if (f.no_params_end && t == RecordType::Params && empty)
                || (f.no_stdin_end && t == RecordType::Stdin && empty)
            {
                continue;
            }
            if t == RecordType::BeginRequest && begin.is_none() {
                begin = Some(out.len());
            }
            if t == RecordType::Params {
                params.extend_from_slice(content);
            }
            out.extend_from_slice(rec);
        }
        out.extend_from_slice(bytes.get(at..).unwrap_or_default());
        *bytes = out;
        let Some(start) = begin else {
            return WriteOutcome::Go;
        };
        let uri = name_value::pairs(&params)
            .map_while(Result::ok)
            .find(|(n, _)| *n == b"REQUEST_URI")
            .map_or(&[][..], |(_, v)| v);
        let hit = |pat: Option<&str>| {
            pat.is_some_and(|p| uri.windows(p.len().max(1)).any(|w| w == p.as_bytes()))
        };
        // BEGIN_REQUEST is 16 bytes; each cut keeps a header and 4 bytes more.
        if hit(f.cut_begin_for) {
            bytes.truncate(start + HEADER_LEN + 4);
            WriteOutcome::Close
        } else if hit(f.cut_params_for) {
            bytes.truncate(start + 16 + HEADER_LEN + 4);
            WriteOutcome::Close
        } else {
            WriteOutcome::Go
        }
    }
}

/// The "ignored padding" fault: rewrites every record header's
/// paddingLength to 0, so the padding bytes are read as the next header.
#[derive(Debug, Default)]
struct PaddingIgnorer {
    header: Vec<u8>,
    skip: usize,
}

impl ReadHook for PaddingIgnorer {
    fn on_read(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.skip > 0 {
                self.skip -= 1;
                out.push(b);
                continue;
            }
            self.header.push(b);
            if self.header.len() == HEADER_LEN {
                let h = std::mem::take(&mut self.header);
                let content = usize::from(u16::from_be_bytes([
                    h.get(4).copied().unwrap_or(0),
                    h.get(5).copied().unwrap_or(0),
                ]));
                for (i, x) in h.iter().enumerate() {
                    out.push(if i == 6 { 0 } else { *x });
                }
                self.skip = content;
            }
        }
        out
    }
}
