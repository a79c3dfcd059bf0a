//! The defects the self-check injects into the runner's web-server side
//! (the client library under the bundled reference web server), and the
//! driver hooks that inject the byte-level ones: ends of streams left out,
//! a body one byte short, a long value with a one-byte length, a request
//! cut mid-record, padding misread. Three stay choices the connection
//! makes, since no hook on the bytes can make them:
//!
//! - `reuse_active_id`: which id a request gets is the state machine's
//!   choice, and whether id 1 is still active is known from the END_REQUEST
//!   records the read path sees; a write hook that renumbered a BEGIN_REQUEST
//!   would keep its own copy of the state machine's active ids, and the
//!   state machine would then wait for answers under an id that gets none.
//! - `no_abort`: the fault is an action left out when the caller gives up,
//!   the ABORT_REQUEST and, on a connection not kept, the close; a hook could
//!   drop the record but not keep the connection open.
//! - `no_stale_retry`: the retry on a fresh connection is the client's, above
//!   any one connection and its bytes.

use fcgi_proto::encoder::Encoder;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::{Header, RecordType, HEADER_LEN};
use fcgi_proto::stream::StreamType;

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
}

impl Faults {
    /// The write hook for these faults, if any of them is on the write
    /// path; `encoder` is the one the connection writes with, so that a
    /// stream the hook rewrites is framed as the connection frames it.
    pub(crate) fn write_hook(&self, encoder: Encoder) -> Option<Box<dyn WriteHook>> {
        let any = self.no_params_end
            || self.no_stdin_end
            || self.short_stdin
            || self.long_value_short_form
            || self.cut_begin_for.is_some()
            || self.cut_params_for.is_some();
        any.then(|| {
            Box::new(WriteFaults {
                faults: *self,
                encoder,
            }) as Box<dyn WriteHook>
        })
    }

    /// The read hook for these faults, if any of them is on the read path.
    pub(crate) fn read_hook(&self) -> Option<Box<dyn ReadHook>> {
        self.ignore_padding
            .then(|| Box::new(PaddingIgnorer::default()) as Box<dyn ReadHook>)
    }
}

/// The write-path faults. Each write of the connection holds whole records
/// of our own making, so it is walked record by record.
struct WriteFaults {
    faults: Faults,
    encoder: Encoder,
}

/// A long value's length squeezed into one byte (the
/// `long_value_short_form` fault): every pair of `block` whose value is
/// longer than [`name_value::MAX_SHORT_LEN`] gets one-byte lengths (the
/// name's capped at 127, the value's low 7 bits); the others keep the
/// shortest forms. `None` when no value is that long or the block does not
/// decode (it is then sent as it is).
fn squeeze_long_values(block: &[u8]) -> Option<Vec<u8>> {
    let pairs: Vec<(&[u8], &[u8])> = name_value::pairs(block).collect::<Result<_, _>>().ok()?;
    if !pairs
        .iter()
        .any(|(_, v)| v.len() > name_value::MAX_SHORT_LEN)
    {
        return None;
    }
    let mut out = Vec::with_capacity(block.len());
    for (n, v) in pairs {
        if v.len() > name_value::MAX_SHORT_LEN {
            out.push(n.len().min(127) as u8);
            out.push((v.len() & 0x7f) as u8);
            out.extend_from_slice(n);
            out.extend_from_slice(v);
        } else {
            name_value::encode_pair_with(
                n,
                v,
                LengthForm::shortest(n.len()),
                LengthForm::shortest(v.len()),
                &mut out,
            )
            .ok()?;
        }
    }
    Some(out)
}

/// One record of a write: its header, its content, the whole record.
type Rec<'a> = (Header, &'a [u8], &'a [u8]);

/// The whole records of one write, and where they end.
fn records_of(bytes: &[u8]) -> (Vec<Rec<'_>>, usize) {
    let mut recs = Vec::new();
    let mut at = 0usize;
    while let Some(h) = bytes.get(at..).and_then(Header::from_slice) {
        let Some(rec) = bytes.get(at..at + h.record_len()) else {
            break;
        };
        at += h.record_len();
        let content = rec
            .get(HEADER_LEN..HEADER_LEN + usize::from(h.content_length))
            .unwrap_or_default();
        recs.push((h, content, rec));
    }
    (recs, at)
}

impl WriteFaults {
    /// The content faults of a write that begins a request: a long value
    /// with a one-byte length (`long_value_short_form`), a body one byte
    /// short of the CONTENT_LENGTH it was given with (`short_stdin`, when
    /// the whole body and its end go with the BEGIN_REQUEST). The stream
    /// is framed again with the connection's encoder where its first
    /// record was; its end and every other record stay as they were.
    fn rewrite_streams(&self, bytes: &mut Vec<u8>) {
        let f = self.faults;
        let (recs, end) = records_of(bytes);
        let Some(id) = recs
            .iter()
            .find(|(h, _, _)| h.record_type == RecordType::BeginRequest)
            .map(|(h, _, _)| h.request_id)
        else {
            return;
        };
        let stream = |t: RecordType| -> Vec<u8> {
            recs.iter()
                .filter(|(h, c, _)| h.record_type == t && h.request_id == id && !c.is_empty())
                .flat_map(|(_, c, _)| c.iter().copied())
                .collect()
        };
        let ends = |t: RecordType| {
            recs.iter()
                .any(|(h, c, _)| h.record_type == t && h.request_id == id && c.is_empty())
        };
        let mut new: Vec<(RecordType, StreamType, Vec<u8>)> = Vec::new();
        if f.long_value_short_form {
            if let Some(b) = squeeze_long_values(&stream(RecordType::Params)) {
                new.push((RecordType::Params, StreamType::Params, b));
            }
        }
        if f.short_stdin && ends(RecordType::Stdin) {
            let mut body = stream(RecordType::Stdin);
            if body.pop().is_some() {
                new.push((RecordType::Stdin, StreamType::Stdin, body));
            }
        }
        if new.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut done: Vec<RecordType> = Vec::new();
        for (h, c, rec) in &recs {
            let t = h.record_type;
            match new.iter().find(|(nt, _, _)| *nt == t) {
                Some((_, st, content)) if h.request_id == id && !c.is_empty() => {
                    if !done.contains(&t) {
                        done.push(t);
                        // Fails only on an id of 0, which a BEGIN_REQUEST of ours never has.
                        let _ = self.encoder.stream(*st, id, content, &mut out);
                    }
                }
                _ => out.extend_from_slice(rec),
            }
        }
        out.extend_from_slice(bytes.get(end..).unwrap_or_default());
        *bytes = out;
    }
}

impl WriteHook for WriteFaults {
    fn on_write(&mut self, bytes: &mut Vec<u8>) -> WriteOutcome {
        self.rewrite_streams(bytes);
        let f = self.faults;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use fcgi_proto::role::Role;

    /// A faithful first write: BEGIN_REQUEST, PARAMS and its end, the body
    /// and its end, framed by the default encoder (the client's).
    fn first_write(params: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
        let enc = Encoder::default();
        let mut block = Vec::new();
        for (n, v) in params {
            name_value::encode_pair(n, v, &mut block).unwrap();
        }
        let mut out = Vec::new();
        enc.begin_request(1, Role::Responder, false, &mut out)
            .unwrap();
        enc.stream(StreamType::Params, 1, &block, &mut out).unwrap();
        enc.end_stream(StreamType::Params, 1, &mut out).unwrap();
        enc.stream(StreamType::Stdin, 1, body, &mut out).unwrap();
        enc.end_stream(StreamType::Stdin, 1, &mut out).unwrap();
        out
    }

    fn hooked(f: Faults, mut bytes: Vec<u8>) -> Vec<u8> {
        let mut h = f.write_hook(Encoder::default()).unwrap();
        assert_eq!(h.on_write(&mut bytes), WriteOutcome::Go);
        bytes
    }

    /// (type, content length, padding, content) of each record.
    fn parsed(bytes: &[u8]) -> Vec<(RecordType, u16, u8, Vec<u8>)> {
        let (recs, end) = records_of(bytes);
        assert_eq!(end, bytes.len(), "whole records only");
        recs.iter()
            .map(|(h, c, _)| {
                (
                    h.record_type,
                    h.content_length,
                    h.padding_length,
                    c.to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn a_long_value_gets_one_byte_lengths_and_the_rest_is_untouched() {
        let long = vec![b'v'; 200];
        let params: [(&[u8], &[u8]); 2] = [(b"LONG", &long), (b"B", b"x")];
        let f = Faults {
            long_value_short_form: true,
            ..Faults::default()
        };
        let got = parsed(&hooked(f, first_write(&params, b"body")));
        let mut want_block = vec![4, 200 & 0x7f];
        want_block.extend_from_slice(b"LONG");
        want_block.extend_from_slice(&long);
        want_block.extend_from_slice(&[1, 1, b'B', b'x']);
        let want = parsed(&{
            let enc = Encoder::default();
            let mut out = Vec::new();
            enc.begin_request(1, Role::Responder, false, &mut out)
                .unwrap();
            enc.stream(StreamType::Params, 1, &want_block, &mut out)
                .unwrap();
            enc.end_stream(StreamType::Params, 1, &mut out).unwrap();
            enc.stream(StreamType::Stdin, 1, b"body", &mut out).unwrap();
            enc.end_stream(StreamType::Stdin, 1, &mut out).unwrap();
            out
        });
        assert_eq!(got, want);
        // Short values only: nothing to squeeze, the write is unchanged.
        let plain = first_write(&[(b"A", b"1")], b"body");
        assert_eq!(hooked(f, plain.clone()), plain);
    }

    #[test]
    fn a_body_sent_with_its_end_loses_its_last_byte_framed_as_the_encoder_frames_it() {
        let f = Faults {
            short_stdin: true,
            ..Faults::default()
        };
        let body = vec![b'b'; 70_000];
        let got = parsed(&hooked(f, first_write(&[(b"A", b"1")], &body)));
        let stdin: Vec<_> = got
            .iter()
            .filter(|r| r.0 == RecordType::Stdin)
            .map(|r| (r.1, r.2))
            .collect();
        // 69 999 bytes: 65 535 and 4 464 (padded to 8 by the default
        // encoder), then the empty end.
        assert_eq!(stdin, vec![(65_535, 1), (4_464, 0), (0, 0)]);
        assert_eq!(got[1].0, RecordType::Params);
        // A one-byte body becomes none: only its end is left.
        let got = parsed(&hooked(f, first_write(&[(b"A", b"1")], b"x")));
        let kinds: Vec<_> = got.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(
            kinds,
            vec![
                (RecordType::BeginRequest, 8),
                (RecordType::Params, 4),
                (RecordType::Params, 0),
                (RecordType::Stdin, 0)
            ]
        );
        // A body whose end is not in this write is left whole.
        let mut open = first_write(&[(b"A", b"1")], b"abc");
        open.truncate(open.len() - HEADER_LEN);
        assert_eq!(hooked(f, open.clone()), open);
    }
}
