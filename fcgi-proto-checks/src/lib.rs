//! Invariant checks shared by the fuzz targets in `fuzz/` and the replayed
//! regressions in `tests/fuzz_regressions.rs`: test scaffolding for
//! `fcgi-proto`, kept out of its public API in this unpublished crate.
//!
//! Each check takes what a fuzz target receives, drives one part of the
//! codec and panics, through an assertion, when an invariant breaks: a
//! panic is a finding. The invariants are `fcgi-proto`'s promises (see its
//! crate documentation): no panic on any input, every malformed input
//! reported as an [`Error`] whose offset lies inside the input (§3.3, §3.4),
//! incremental and one-shot decoding agree (§3.3), encode then decode is
//! the identity (§3.3, §3.4, R-3.4-3), and nothing a peer says grows memory
//! past the configured [`Limits`].
//!
//! The targets that take typed input ([`AppInput`], [`ServerInput`],
//! [`RoundTripInput`]) are built from bytes exactly as `libfuzzer-sys`
//! builds them, so [`run_target`] replays a saved crash input byte for byte.
//!
//! The assertions are the point of this crate, hence the lint exceptions.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![allow(clippy::panic, clippy::indexing_slicing)]

use arbitrary::{Arbitrary, Unstructured};
use core::num::NonZeroU16;
use fcgi_proto::stream::StreamType;

use fcgi_proto::application::{BeginRequestBody, EndRequestBody, ProtocolStatus};
use fcgi_proto::cgi;
use fcgi_proto::connection::{
    Application, ApplicationConfig, ApplicationEvent, InactivePolicy, RequestId, WebServer,
    WebServerConfig, WebServerEvent,
};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::dump as annotated;
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::error::{ErrorKind, PairPart, UsageError, UsageKind};
use fcgi_proto::limits::Limits;
use fcgi_proto::management::UnknownTypeBody;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::{records_with, Header, OwnedRecord, ParseOptions, RecordType, Status};
use fcgi_proto::role::Role;
use fcgi_proto::stream::Reassembler;
use fcgi_proto::{Error, Record};

/// The names of the fuzz targets, as `fuzz/fuzz_targets/<name>.rs` and
/// `fuzz/corpus/<name>/` spell them.
pub const TARGETS: [&str; 7] = [
    "params_truncated",
    "record_stream",
    "app_state_machine",
    "server_state_machine",
    "cgi_response",
    "dump",
    "round_trip",
];

/// Runs the check of fuzz target `name` on raw fuzzer bytes, building typed
/// input the way `libfuzzer-sys` does. Returns false for an unknown name.
pub fn run_target(name: &str, data: &[u8]) -> bool {
    match name {
        "params_truncated" => params_truncated(data),
        "record_stream" => record_stream(data),
        "cgi_response" => cgi_response(data),
        "dump" => dump(data),
        "app_state_machine" => {
            if let Some(input) = typed::<AppInput>(data) {
                app_state_machine(&input);
            }
        }
        "server_state_machine" => {
            if let Some(input) = typed::<ServerInput>(data) {
                server_state_machine(&input);
            }
        }
        "round_trip" => {
            if let Some(input) = typed::<RoundTripInput>(data) {
                round_trip(&input);
            }
        }
        _ => return false,
    }
    true
}

/// Typed input from fuzzer bytes, as `libfuzzer_sys::fuzz_target!` makes it:
/// too short for the type's size hint, or not buildable, means no run.
pub fn typed<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    if data.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

// ---------------------------------------------------------------------------
// params_truncated: name-value pairs (§3.4)
// ---------------------------------------------------------------------------

/// A pair as decoded, with the forms its lengths took.
type FormPair<'a> = (&'a [u8], &'a [u8], LengthForm, LengthForm);

/// Decodes a whole block; returns the pairs, the end offset of each and the
/// error that ended it, checking where the error is placed (§3.4, R-3.4-3).
fn decode_block(block: &[u8]) -> (Vec<FormPair<'_>>, Vec<usize>, Option<Error>) {
    let mut pairs = Vec::new();
    let mut ends = Vec::new();
    let (_, err) = walk_block(block, |p, end| {
        ends.push(end);
        pairs.push((p.name, p.value, p.name_form, p.value_form));
    });
    (pairs, ends, err)
}

/// The checks of [`decode_block`] without keeping the pairs: the number of
/// pairs and the error. The truncation checks decode a prefix per cut, so
/// this is the inner loop of `params_truncated`.
fn count_block(block: &[u8]) -> (usize, Option<Error>) {
    walk_block(block, |_, _| {})
}

/// Decodes a whole block, handing each pair and its end offset to `each`;
/// returns the number of pairs and the error that ended the block, checking
/// that pairs are contiguous and where the error is placed (§3.4, R-3.4-3).
fn walk_block<'a>(
    block: &'a [u8],
    mut each: impl FnMut(name_value::Pair<'a>, usize),
) -> (usize, Option<Error>) {
    let mut it = name_value::pairs_at(block, 0);
    let mut err = None;
    let mut steps = 0usize;
    let mut count = 0usize;
    // End of the last accepted pair.
    let mut accepted = 0usize;
    while let Some(p) = it.next_pair() {
        steps += 1;
        assert!(steps <= block.len(), "more pairs than bytes");
        match p {
            Ok(p) => {
                assert_eq!(p.offset, accepted, "pairs are contiguous");
                let len = p.name_form.size() + p.value_form.size() + p.name.len() + p.value.len();
                accepted += len;
                count += 1;
                each(p, accepted);
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert!(
        it.next_pair().is_none(),
        "nothing after the error or the end"
    );
    match &err {
        None => assert_eq!(accepted, block.len(), "a clean block is used whole"),
        Some(e) => {
            let off = usize::try_from(e.offset()).unwrap_or(usize::MAX);
            // The error lies in the pair after the last accepted one.
            assert!(off >= accepted, "error {e} before the accepted prefix");
            let at_end_ok = matches!(
                e.kind(),
                ErrorKind::TruncatedLength {
                    which: PairPart::Value
                }
            );
            // Inside the input; only a missing value length may point just past it.
            assert!(
                off < block.len() || (at_end_ok && off == block.len()),
                "error {e} outside a block of {} bytes",
                block.len()
            );
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::TruncatedLength { .. } | ErrorKind::PairOverrun { .. }
                ),
                "unexpected error kind {e}"
            );
            assert_eq!(e.section().to_string(), "§3.4");
        }
    }
    (count, err)
}

/// `params_truncated`: name-value pairs (§3.4) decoded from arbitrary bytes
/// and from every truncation of a valid encoding: never a panic, always an
/// error inside the input, and decode, encode, decode is the identity on
/// everything accepted, the 4-byte form for short lengths normalised.
pub fn params_truncated(data: &[u8]) {
    let (pairs, ends, err) = decode_block(data);
    let accepted = ends.last().copied().unwrap_or(0);

    // validate() agrees with the iterator.
    match (name_value::validate(data, 0, usize::MAX), &err) {
        (Ok(n), None) => assert_eq!(n, pairs.len()),
        (Err(a), Some(b)) => assert_eq!(&a, b),
        (a, b) => panic!("validate {a:?} disagrees with pairs() {b:?}"),
    }
    if let Some(max) = pairs.len().checked_sub(1) {
        if err.is_none() {
            let e = name_value::validate(data, 0, max).err();
            assert!(
                matches!(
                    e.as_ref().map(Error::kind),
                    Some(ErrorKind::LimitExceeded { .. })
                ),
                "max_pairs not enforced: {e:?}"
            );
        }
    }

    // Re-encoding with the forms as read gives the accepted bytes back.
    let mut same_forms = Vec::with_capacity(accepted);
    for (n, v, nf, vf) in &pairs {
        let r = name_value::encode_pair_with(n, v, *nf, *vf, &mut same_forms);
        assert!(r.is_ok(), "a decoded pair must re-encode: {r:?}");
    }
    assert_eq!(same_forms.as_slice(), &data[..accepted]);

    // Shortest forms: decode gives the same names and values, and encoding
    // that again is a fixed point.
    let mut normal = Vec::with_capacity(accepted);
    for (n, v, _, _) in &pairs {
        let r = name_value::encode_pair(n, v, &mut normal);
        assert!(r.is_ok(), "a decoded pair must re-encode: {r:?}");
    }
    assert!(normal.len() <= accepted, "shortest forms are never longer");
    let (again, _, e2) = decode_block(&normal);
    assert!(e2.is_none(), "normalised block fails: {e2:?}");
    assert_eq!(again.len(), pairs.len());
    for ((n1, v1, ..), (n2, v2, nf, vf)) in pairs.iter().zip(&again) {
        assert_eq!((n1, v1), (n2, v2));
        assert_eq!(*nf, LengthForm::shortest(n2.len()));
        assert_eq!(*vf, LengthForm::shortest(v2.len()));
    }

    // Every truncation of the valid prefix: an error exactly when the cut
    // falls inside a pair, placed in that pair, and the pairs before it intact.
    truncations(&data[..accepted], &ends, pairs.len());
    if normal.as_slice() == &data[..accepted] {
        // Already in shortest forms (as every real peer writes them): the
        // same bytes would go through the same deterministic checks again.
        return;
    }
    let mut nends = Vec::with_capacity(again.len());
    let mut at = 0;
    for (n, v, nf, vf) in &again {
        at += nf.size() + vf.size() + n.len() + v.len();
        nends.push(at);
    }
    truncations(&normal, &nends, again.len());
}

/// Cuts `block` (a valid encoding whose pairs end at `ends`) and checks each cut.
/// Blocks over 256 bytes are cut near their first and last 16 pair
/// boundaries only, to keep runs fast.
fn truncations(block: &[u8], ends: &[usize], n_pairs: usize) {
    let check = |cut: usize| {
        let Some(part) = block.get(..cut) else { return };
        let (got, err) = count_block(part);
        let whole = ends.partition_point(|&e| e <= cut);
        assert_eq!(got, whole, "pairs before cut {cut}");
        let boundary = cut == 0 || ends.binary_search(&cut).is_ok();
        assert_eq!(
            err.is_none(),
            boundary,
            "cut {cut} of {}: error {err:?}",
            block.len()
        );
    };
    if block.len() <= 256 {
        (0..block.len()).for_each(check);
    } else {
        // Near the first and the last 16 boundaries.
        let mut starts = vec![0];
        starts.extend(ends.iter().copied());
        let skip = starts.len().saturating_sub(16).max(16);
        let near = starts.iter().take(16).chain(starts.iter().skip(skip));
        for &s in near.take(n_pairs + 1) {
            (s.saturating_sub(1)..s.saturating_add(10)).for_each(check);
        }
    }
}

// ---------------------------------------------------------------------------
// record_stream: the incremental decoder (§3.3)
// ---------------------------------------------------------------------------

/// A decoded record, owned, with its framing.
type Framed = (u64, Header, Vec<u8>, Vec<u8>);

fn framed(r: &Record<'_>) -> Framed {
    (r.offset, r.header, r.content.to_vec(), r.padding.to_vec())
}

/// Splits fuzzer bytes for [`record_stream`]: the last byte `n` counts the
/// chunk-size bytes before it; the bytes ahead of those are the stream. A
/// stream with `n = 0` is pushed whole.
pub fn split_chunked(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((&n, rest)) = data.split_last() else {
        return (&[], &[]);
    };
    let n = usize::from(n).min(rest.len());
    rest.split_at(rest.len() - n)
}

/// `record_stream`: the incremental [`Decoder`] fed the stream in chunks
/// whose sizes come from the input (a size of 0 pushes nothing and polls)
/// yields the same records and the same error as one-shot decoding with
/// [`fcgi_proto::record::records`] (§3.3). Every record is also passed through a
/// [`Reassembler`] with small limits, whose memory must stay within them.
pub fn record_stream(data: &[u8]) {
    let (stream, sizes) = split_chunked(data);
    for options in [
        ParseOptions::default(),
        ParseOptions::default().with_strict_version(false),
    ] {
        record_stream_with(stream, sizes, options);
    }
}

fn record_stream_with(stream: &[u8], sizes: &[u8], options: ParseOptions) {
    let mut want = Vec::new();
    let mut want_err = None;
    let mut it = records_with(stream, options);
    for r in it.by_ref() {
        match r {
            Ok(r) => want.push(framed(&r)),
            Err(e) => {
                want_err = Some(e);
                break;
            }
        }
    }
    assert!(
        it.next().is_none(),
        "records() yields nothing after its error"
    );
    if let Some(e) = &want_err {
        assert!(
            e.offset() < stream.len() as u64,
            "error {e} outside the input"
        );
        let end = want
            .last()
            .map_or(0, |(o, h, ..)| *o + h.record_len() as u64);
        assert_eq!(e.offset(), end, "error at the first bad record");
    }

    let mut d = Decoder::with_options(options, 1 << 20);
    let mut got = Vec::new();
    let mut got_err = None;
    let mut pos = 0usize;
    let mut k = 0usize;
    let mut polls = 0usize;
    'feed: while pos < stream.len() || (k == 0 && stream.is_empty()) {
        // Zero sizes poll without pushing; after more steps than bytes and
        // sizes together, the rest goes in at once so the loop always ends.
        let size = if sizes.is_empty() || k > stream.len() + sizes.len() {
            stream.len()
        } else {
            usize::from(sizes[k % sizes.len()])
        };
        k += 1;
        let end = pos.saturating_add(size).min(stream.len());
        if let Err(e) = d.push(&stream[pos..end]) {
            got_err = Some(e);
            break 'feed;
        }
        pos = end;
        loop {
            polls += 1;
            assert!(polls <= 2 * stream.len() + 4 * k + 8, "decoder loops");
            match d.next_record() {
                Ok(Some(r)) => got.push(framed(&r)),
                Ok(None) => break,
                Err(e) => {
                    got_err = Some(e);
                    break 'feed;
                }
            }
        }
        assert!(
            d.buffered() < fcgi_proto::record::MAX_RECORD_LEN + 256,
            "the decoder holds at most one record"
        );
        if stream.is_empty() {
            break;
        }
    }
    if let Some(e) = &got_err {
        // Sticky: every later call says the same.
        assert_eq!(d.push(b"x").err().as_ref(), Some(e));
        assert_eq!(d.next_record().err().as_ref(), Some(e));
        assert_eq!(d.finish().err().as_ref(), Some(e));
    } else {
        got_err = d.finish().err();
    }
    assert_eq!(got, want, "chunked records differ");
    assert_eq!(got_err, want_err, "chunked error differs");

    // Reassembly with small limits never holds more than they allow.
    let limits = Limits {
        max_params_bytes: 512,
        max_pairs: 16,
        max_stream_bytes: 1024,
        max_requests: 4,
        max_management_bytes: 512,
        ..Limits::default()
    };
    let mut re = Reassembler::new(limits);
    for r in records_with(stream, options).map_while(Result::ok) {
        match re.push(&r) {
            Ok(Some(a)) => {
                if a.record_type == RecordType::Params {
                    assert!(a.data.len() <= limits.max_params_bytes);
                    assert!(name_value::validate(&a.data, 0, limits.max_pairs).is_ok());
                } else {
                    assert!(a.data.len() <= limits.max_stream_bytes);
                }
            }
            Ok(None) => {}
            Err(_) => break,
        }
        assert!(re.buffered() <= 5 * limits.max_requests * limits.max_stream_bytes);
    }
}

// ---------------------------------------------------------------------------
// State machines (§3.3, §4, §5, §6)
// ---------------------------------------------------------------------------

/// Small limits drawn from the input, so that fuzzing reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub struct SmallLimits {
    /// `max_requests` is 1 + this % 8.
    pub max_requests: u8,
    /// `max_pairs` is this value.
    pub max_pairs: u8,
    /// `max_params_bytes` is this value.
    pub max_params_bytes: u16,
}

impl SmallLimits {
    /// The [`Limits`] these stand for.
    pub fn limits(self) -> Limits {
        Limits {
            max_params_bytes: usize::from(self.max_params_bytes),
            max_pairs: usize::from(self.max_pairs),
            max_stream_bytes: 1 << 16,
            max_requests: 1 + usize::from(self.max_requests % 8),
            max_management_bytes: 65535,
            ..Limits::default()
        }
    }
}

/// A received record: an arbitrary [`OwnedRecord`], its request id folded
/// into 0..=4 when `small_id` is set so that ids meet.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct Received {
    /// Fold the request id into 0..=4.
    pub small_id: bool,
    /// The record.
    pub record: OwnedRecord,
}

impl Received {
    fn record(&self) -> OwnedRecord {
        let mut r = self.record.clone();
        if self.small_id {
            r.request_id %= 5;
        }
        r
    }
}

/// The bytes [`filler`] hands out: `a` to `z`, repeated.
static PATTERN: [u8; u16::MAX as usize] = pattern();

const fn pattern() -> [u8; u16::MAX as usize] {
    let mut p = [0u8; u16::MAX as usize];
    let mut i = 0;
    while i < p.len() {
        p[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    p
}

/// Pattern bytes for writes whose content does not matter: up to 255
/// bytes (past the 127/128 step of a pair's length form; nothing in the
/// codec changes between 256 and 65534), or the drawn length itself when
/// it is 0xff00 or more, so that full 65535-byte records happen without
/// every step costing that much. (Up to 2047 before: the mean write was
/// then 8x longer, and `server_state_machine` spent its time copying.)
/// Borrowed from [`PATTERN`]: building them byte by byte on every step
/// cost more than the codec's work on them (each loop step goes through
/// the fuzzer's comparison hooks).
fn filler(len: u16) -> &'static [u8] {
    let len = if len >= 0xff00 { len } else { len % 256 };
    PATTERN.get(..usize::from(len)).unwrap_or_default()
}

/// Request id 0..=4 from a byte (0 is the null id, which writers must refuse).
fn small_id(b: u8) -> u16 {
    u16::from(b % 5)
}

/// Input of [`app_state_machine`].
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct AppInput {
    /// Limits of the connection.
    pub limits: SmallLimits,
    /// [`InactivePolicy::Error`] instead of ignoring.
    pub inactive_error: bool,
    /// Padding of the records the web server sends.
    pub padding: Padding,
    /// What happens, in order.
    pub steps: Vec<AppStep>,
}

/// One step of the application's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum AppStep {
    /// A record arrives from the web server.
    Receive(Received),
    /// The application writes STDOUT.
    Stdout {
        /// Request id, 0..=4.
        id: u8,
        /// Bytes to write.
        len: u16,
    },
    /// The application ends STDOUT.
    EndStdout {
        /// Request id, 0..=4.
        id: u8,
    },
    /// The application writes STDERR.
    Stderr {
        /// Request id, 0..=4.
        id: u8,
        /// Bytes to write.
        len: u16,
    },
    /// The application ends STDERR.
    EndStderr {
        /// Request id, 0..=4.
        id: u8,
    },
    /// The application ends a request.
    EndRequest {
        /// Request id, 0..=4.
        id: u8,
        /// appStatus.
        app_status: u32,
        /// protocolStatus.
        status: ProtocolStatus,
    },
}

/// Checks what a writer appended: nothing on error, else clean records of
/// the expected types for `id`, every one but management ones.
fn check_written(
    what: &str,
    result: Result<(), UsageError>,
    out: &[u8],
    mark: usize,
    id: u16,
    types: &[RecordType],
) -> bool {
    let new = &out[mark..];
    match result {
        Err(_) => {
            assert!(
                new.is_empty(),
                "{what}: failed but wrote {} bytes",
                new.len()
            );
            false
        }
        Ok(()) => {
            for r in records_with(new, ParseOptions::default()) {
                let r = match r {
                    Ok(r) => r,
                    Err(e) => panic!("{what}: wrote a bad record: {e}"),
                };
                assert!(types.contains(&r.record_type()), "{what}: wrote {r:?}");
                assert_eq!(r.request_id(), id, "{what}: wrong id");
            }
            true
        }
    }
}

/// Asserts an error from handling `r` points into the record (§3.3): its
/// header, content or padding, or just past its content when that is empty.
fn check_placed(e: &Error, r: &Record<'_>) {
    let start = r.offset;
    let end = r.offset + r.header.record_len() as u64;
    assert!(
        e.offset() >= start && e.offset() <= end,
        "error {e} outside record at {start}..{end}"
    );
}

/// `app_state_machine`: arbitrary records from the web server, encoded and
/// decoded, driven through [`Application`] between arbitrary writes by
/// the application. No panic; every refused record is an error placed in it
/// that leaves the machine as it was (a refused PARAMS record may only close
/// that request's PARAMS), and the conversation goes on past it (the
/// post-error contract of `fcgi_proto::connection`); active requests never exceed
/// `max_requests`; a PARAMS block handed out is whole, checked and within
/// `max_params_bytes` (§3.3, §5.1, §5.2, §5.5, R-6.2-1).
pub fn app_state_machine(input: &AppInput) {
    let limits = input.limits.limits();
    let mut conn = Application::new(
        ApplicationConfig::default()
            .with_limits(limits)
            .with_inactive(if input.inactive_error {
                InactivePolicy::Error
            } else {
                InactivePolicy::Ignore
            }),
    );
    let enc = Encoder::default().with_padding(input.padding);
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    for step in &input.steps {
        // Each write is checked on its own; holding them all would let the
        // harness, not the codec, use the memory.
        out.clear();
        let mark = 0;
        match step {
            AppStep::Receive(rx) => {
                let rec = rx.record();
                let mut wire = Vec::new();
                if enc
                    .record(rec.record_type, rec.request_id, &rec.content, &mut wire)
                    .is_err()
                {
                    continue;
                }
                assert!(decoder.push(&wire).is_ok(), "one record always fits");
                let r = match decoder.next_record() {
                    Ok(Some(r)) => r,
                    other => panic!("an encoded record must decode: {other:?}"),
                };
                assert_eq!(r.to_owned(), rec, "decode gives the record back");
                let was_active =
                    RequestId::new(r.request_id()).is_some_and(|id| conn.is_active(id));
                let before = conn.clone();
                match conn.handle(&r) {
                    Err(e) => {
                        check_placed(&e, &r);
                        let active: Vec<_> = conn.active().collect();
                        assert_eq!(
                            active,
                            before.active().collect::<Vec<_>>(),
                            "an error ends no request"
                        );
                        if r.record_type() != RecordType::Params {
                            assert_eq!(conn, before, "a refused record changes nothing: {e}");
                        }
                    }
                    Ok(ev) => match ev {
                        ApplicationEvent::BeginRequest { request_id, .. } => {
                            assert!(!was_active && conn.is_active(request_id));
                        }
                        ApplicationEvent::ParamsEnd { block, .. } => {
                            assert!(block.len() <= limits.max_params_bytes);
                            let n = name_value::validate(&block, 0, limits.max_pairs);
                            assert!(n.is_ok(), "unchecked block handed out: {n:?}");
                        }
                        ApplicationEvent::Ignored { request_id, .. } => {
                            assert!(!input.inactive_error && !conn.is_active(request_id));
                        }
                        ApplicationEvent::GetValues { query } => {
                            assert!(name_value::validate(&query, 0, limits.max_pairs).is_ok());
                        }
                        ApplicationEvent::Params { request_id, .. }
                        | ApplicationEvent::Stdin { request_id, .. }
                        | ApplicationEvent::StdinEnd { request_id }
                        | ApplicationEvent::Data { request_id, .. }
                        | ApplicationEvent::DataEnd { request_id }
                        | ApplicationEvent::AbortRequest { request_id } => {
                            assert!(conn.is_active(request_id))
                        }
                        ApplicationEvent::UnknownType { .. } => {}
                    },
                }
            }
            AppStep::Stdout { id, len } | AppStep::Stderr { id, len } => {
                // Id 0 is not a RequestId: the writers cannot be asked for it.
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let data = filler(*len);
                let (r, t) = if matches!(step, AppStep::Stdout { .. }) {
                    (
                        conn.stream(StreamType::Stdout, id, data, &mut out),
                        RecordType::Stdout,
                    )
                } else {
                    (
                        conn.stream(StreamType::Stderr, id, data, &mut out),
                        RecordType::Stderr,
                    )
                };
                if check_written("stdout/stderr", r, &out, mark, id.get(), &[t]) {
                    let n: usize = records_with(&out[mark..], ParseOptions::default())
                        .map_while(Result::ok)
                        .map(|r| r.content.len())
                        .sum();
                    assert_eq!(n, data.len(), "every byte written once");
                    assert!(conn.is_active(id));
                }
            }
            AppStep::EndStdout { id } | AppStep::EndStderr { id } => {
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let (r, t) = if matches!(step, AppStep::EndStdout { .. }) {
                    (
                        conn.end_stream(StreamType::Stdout, id, &mut out),
                        RecordType::Stdout,
                    )
                } else {
                    (
                        conn.end_stream(StreamType::Stderr, id, &mut out),
                        RecordType::Stderr,
                    )
                };
                check_written("end stream", r, &out, mark, id.get(), &[t]);
            }
            AppStep::EndRequest {
                id,
                app_status,
                status,
            } => {
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let r = conn.end_request(id, *app_status, *status, &mut out);
                let ok = check_written(
                    "end_request",
                    r.map(|_| ()),
                    &out,
                    mark,
                    id.get(),
                    &[RecordType::EndRequest],
                );
                if ok {
                    assert!(!conn.is_active(id), "END_REQUEST leaves the id inactive");
                }
            }
        }
        assert!(conn.active().count() <= limits.max_requests);
    }
}

/// Input of [`server_state_machine`].
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct ServerInput {
    /// Limits of the connection.
    pub limits: SmallLimits,
    /// [`server::Config::require_stdout_end`].
    pub require_stdout_end: bool,
    /// Padding of the records the application sends.
    pub padding: Padding,
    /// What happens, in order.
    pub steps: Vec<ServerStep>,
}

/// One step of the web server's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum ServerStep {
    /// A record arrives from the application.
    Receive(Received),
    /// The web server writes BEGIN_REQUEST.
    BeginRequest {
        /// Request id, 0..=4.
        id: u8,
        /// The role.
        role: Role,
        /// `FCGI_KEEP_CONN`.
        keep_conn: bool,
    },
    /// The web server writes `count` pairs on PARAMS.
    Params {
        /// Request id, 0..=4.
        id: u8,
        /// Pairs to write.
        count: u8,
        /// Length of each value.
        value_len: u16,
    },
    /// The web server ends PARAMS.
    EndParams {
        /// Request id, 0..=4.
        id: u8,
    },
    /// The web server writes STDIN.
    Stdin {
        /// Request id, 0..=4.
        id: u8,
        /// Bytes to write.
        len: u16,
    },
    /// The web server ends STDIN.
    EndStdin {
        /// Request id, 0..=4.
        id: u8,
    },
    /// The web server writes DATA.
    Data {
        /// Request id, 0..=4.
        id: u8,
        /// Bytes to write.
        len: u16,
    },
    /// The web server ends DATA.
    EndData {
        /// Request id, 0..=4.
        id: u8,
    },
    /// The web server writes ABORT_REQUEST.
    AbortRequest {
        /// Request id, 0..=4.
        id: u8,
    },
}

/// Parameter names for [`ServerStep::Params`]: real CGI meta-variables.
const PARAM_NAMES: [&str; 8] = [
    "SCRIPT_FILENAME",
    "QUERY_STRING",
    "REQUEST_METHOD",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "SERVER_PROTOCOL",
    "GATEWAY_INTERFACE",
    "HTTP_HOST",
];

/// `server_state_machine`: arbitrary records from the application, encoded
/// and decoded, driven through [`WebServer`] between arbitrary
/// calls of its writing methods. Writers refuse what the spec forbids
/// (id 0, duplicate ids, writing after a stream ended, past
/// `max_requests`, a new request after one without `FCGI_KEEP_CONN`
/// ended, R-3.5-1) and leave nothing behind when they do; what they write is
/// clean. Every refused record is an error placed in it that changes
/// nothing, and the conversation goes on past it (the post-error contract of
/// `fcgi_proto::connection`; §3.3, §5, R-3.3-5, R-5.5-4, R-6.2-1).
///
/// Both parties agree: everything the web server was allowed to write is
/// fed to an [`Application`] (refusing records for inactive ids), which
/// must accept all of it and hand back each PARAMS block as written; when
/// the web server accepts an END_REQUEST, that application ends the request too.
pub fn server_state_machine(input: &ServerInput) {
    let limits = input.limits.limits();
    let mut conn = WebServer::new(
        WebServerConfig::default()
            .with_limits(limits)
            .with_require_stdout_end(input.require_stdout_end),
    );
    let enc = Encoder::default().with_padding(input.padding);
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let mut peer = Peer::new(limits.max_requests);
    // A request without FCGI_KEEP_CONN ended: no new request on this
    // connection (R-3.5-1).
    let mut closing = false;
    for step in &input.steps {
        out.clear();
        let mark = 0;
        match step {
            ServerStep::Receive(rx) => {
                let rec = rx.record();
                let mut wire = Vec::new();
                if enc
                    .record(rec.record_type, rec.request_id, &rec.content, &mut wire)
                    .is_err()
                {
                    continue;
                }
                assert!(decoder.push(&wire).is_ok(), "one record always fits");
                let r = match decoder.next_record() {
                    Ok(Some(r)) => r,
                    other => panic!("an encoded record must decode: {other:?}"),
                };
                assert_eq!(r.to_owned(), rec, "decode gives the record back");
                let was_active =
                    RequestId::new(r.request_id()).is_some_and(|id| conn.is_active(id));
                let before = conn.clone();
                match conn.handle(&r) {
                    Err(e) => {
                        check_placed(&e, &r);
                        assert_eq!(conn, before, "a refused record changes nothing: {e}");
                    }
                    Ok(WebServerEvent::EndRequest {
                        request_id,
                        keep_conn,
                        ..
                    }) => {
                        assert!(was_active && !conn.is_active(request_id));
                        closing |= !keep_conn;
                        peer.end_request(request_id);
                    }
                    Ok(
                        WebServerEvent::Stdout { request_id, .. }
                        | WebServerEvent::StdoutEnd { request_id }
                        | WebServerEvent::Stderr { request_id, .. }
                        | WebServerEvent::StderrEnd { request_id },
                    ) => assert!(conn.is_active(request_id)),
                    Ok(WebServerEvent::GetValuesResult { block }) => {
                        assert!(name_value::validate(&block, 0, limits.max_pairs).is_ok());
                    }
                    Ok(WebServerEvent::UnknownType(_) | WebServerEvent::UnknownRecord { .. }) => {}
                }
            }
            ServerStep::BeginRequest {
                id,
                role,
                keep_conn,
            } => {
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let before = conn.active().count();
                let was_active = conn.is_active(id);
                let r = conn.begin_request(id, *role, *keep_conn, &mut out);
                let refused = closing || was_active || before >= limits.max_requests;
                assert_eq!(r.is_err(), refused, "begin_request({id}): {r:?}");
                if closing {
                    let kind = r.as_ref().err().map(UsageError::kind);
                    assert_eq!(kind, Some(&UsageKind::ConnectionClosed));
                }
                check_written(
                    "begin_request",
                    r,
                    &out,
                    mark,
                    id.get(),
                    &[RecordType::BeginRequest],
                );
            }
            ServerStep::Params {
                id,
                count,
                value_len,
            } => {
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let value = filler(*value_len);
                // Two values of 0xff00 bytes or more already split the
                // block across records; fifteen of them (a megabyte a step)
                // only cost copying.
                let most = if value.len() > 0xff { 3 } else { 16 };
                let pairs: Vec<(&[u8], &[u8])> = (0..usize::from(*count % most))
                    .map(|i| (PARAM_NAMES[i % PARAM_NAMES.len()].as_bytes(), value))
                    .collect();
                let r = conn.params(id, pairs.iter().copied(), &mut out);
                if check_written("params", r, &out, mark, id.get(), &[RecordType::Params]) {
                    // Whole contents at once: a byte-by-byte join here was
                    // half of this target's time.
                    let mut block = Vec::new();
                    for r in
                        records_with(&out[mark..], ParseOptions::default()).map_while(Result::ok)
                    {
                        block.extend_from_slice(r.content);
                    }
                    let got: Vec<_> = name_value::pairs(&block).collect();
                    assert_eq!(got.len(), pairs.len());
                    for (g, w) in got.iter().zip(&pairs) {
                        assert_eq!(g.as_ref().ok(), Some(w));
                    }
                }
            }
            ServerStep::Stdin { id, len } | ServerStep::Data { id, len } => {
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let data = filler(*len);
                let (r, t) = if matches!(step, ServerStep::Stdin { .. }) {
                    (
                        conn.stream(StreamType::Stdin, id, data, &mut out),
                        RecordType::Stdin,
                    )
                } else {
                    (
                        conn.stream(StreamType::Data, id, data, &mut out),
                        RecordType::Data,
                    )
                };
                check_written("stdin/data", r, &out, mark, id.get(), &[t]);
            }
            ServerStep::EndParams { id }
            | ServerStep::EndStdin { id }
            | ServerStep::EndData { id } => {
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let (r, t) = match step {
                    ServerStep::EndParams { .. } => (
                        conn.end_stream(StreamType::Params, id, &mut out),
                        RecordType::Params,
                    ),
                    ServerStep::EndStdin { .. } => (
                        conn.end_stream(StreamType::Stdin, id, &mut out),
                        RecordType::Stdin,
                    ),
                    _ => (
                        conn.end_stream(StreamType::Data, id, &mut out),
                        RecordType::Data,
                    ),
                };
                if check_written("end stream", r, &out, mark, id.get(), &[t]) {
                    assert_eq!(out.len() - mark, 8, "an empty record, unpadded");
                }
            }
            ServerStep::AbortRequest { id } => {
                let Some(id) = RequestId::new(small_id(*id)) else {
                    continue;
                };
                let was_active = conn.is_active(id);
                let r = conn.abort_request(id, &mut out);
                assert_eq!(r.is_ok(), was_active, "abort_request({id}): {r:?}");
                check_written(
                    "abort_request",
                    r,
                    &out,
                    mark,
                    id.get(),
                    &[RecordType::AbortRequest],
                );
            }
        }
        peer.feed(&out);
        assert!(conn.active().count() <= limits.max_requests);
    }
}

/// The application at the other end of [`server_state_machine`]'s writes.
struct Peer {
    app: Application,
    decoder: Decoder,
    /// False once the application hit one of its own limits: from then on
    /// the two may disagree legitimately.
    live: bool,
    /// PARAMS content written per request id, to compare with the block.
    params: std::collections::BTreeMap<u16, Vec<u8>>,
}

impl Peer {
    fn new(max_requests: usize) -> Self {
        Peer {
            app: Application::new(
                ApplicationConfig::default()
                    .with_limits(Limits {
                        // Enough for every seed; past it the mirror stops, cheaply.
                        max_params_bytes: 64 << 10,
                        max_pairs: 1 << 12,
                        max_requests,
                        ..Limits::default()
                    })
                    .with_inactive(InactivePolicy::Error),
            ),
            decoder: Decoder::new(),
            live: true,
            params: std::collections::BTreeMap::new(),
        }
    }

    /// The web server accepted END_REQUEST for `id`: the application sent it.
    fn end_request(&mut self, id: RequestId) {
        if !self.live {
            return;
        }
        let mut sink = Vec::new();
        let r = self
            .app
            .end_request(id, 0, ProtocolStatus::RequestComplete, &mut sink);
        assert!(r.is_ok(), "application cannot end request {id}: {r:?}");
        self.params.remove(&id.get());
    }

    /// What the web server wrote reaches the application.
    fn feed(&mut self, wire: &[u8]) {
        if !self.live || wire.is_empty() {
            return;
        }
        assert!(self.decoder.push(wire).is_ok());
        loop {
            let r = match self.decoder.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => panic!("web server wrote a bad stream: {e}"),
            };
            if r.record_type() == RecordType::Params {
                self.params
                    .entry(r.request_id())
                    .or_default()
                    .extend_from_slice(r.content);
            }
            match self.app.handle(&r) {
                Err(e) if matches!(e.kind(), ErrorKind::LimitExceeded { .. }) => {
                    self.live = false;
                    return;
                }
                Err(e) => panic!("application refused what the web server could write: {e}"),
                Ok(ApplicationEvent::ParamsEnd { request_id, block }) => {
                    let sent = self.params.remove(&request_id.get()).unwrap_or_default();
                    assert_eq!(
                        *block,
                        sent[..],
                        "PARAMS block differs from what was written"
                    );
                }
                Ok(_) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------
// cgi_response: the CGI/1.1 response head (§6.2, RFC 3875 §6)
// ---------------------------------------------------------------------------

/// Header lines [`cgi_response`] allows.
pub const CGI_MAX_HEADERS: usize = 16;

/// `cgi_response`: the CGI response head parser on arbitrary bytes. An
/// error lies inside the input; a complete head ends with its blank line at
/// `body_offset`, parses the same from just its own bytes, is partial one
/// byte shorter, and holds only well-formed names and values (§6.2, R-6.2-2).
pub fn cgi_response(data: &[u8]) {
    match cgi::parse_response(data, CGI_MAX_HEADERS) {
        Err(e) => {
            assert!(
                e.offset() < data.len() as u64,
                "error {e} outside the input"
            );
            assert!(matches!(
                e.kind(),
                ErrorKind::Cgi(_) | ErrorKind::LimitExceeded { .. }
            ));
        }
        Ok(Status::Partial(n)) => {
            assert!(n > data.len(), "partial asks for more than it has");
        }
        Ok(Status::Complete(resp)) => {
            let end = resp.body_offset;
            assert!(end >= 1 && end <= data.len(), "body offset {end}");
            assert_eq!(data[end - 1], b'\n', "the head ends with a line end");
            assert!(resp.headers.len() <= CGI_MAX_HEADERS);
            assert!(
                resp.status.is_some() || resp.location.is_some() || resp.content_type.is_some()
            );
            if let Some(s) = resp.status {
                assert!((100..=999).contains(&s), "status {s}");
            }
            for h in &resp.headers {
                assert!(!h.name.is_empty() && h.name.bytes().all(|b| b.is_ascii_graphic()));
                assert!(!h.name.contains(':'));
                assert!(!h.value.iter().any(|&b| b == b'\r' || b == b'\n'));
            }
            let again = cgi::parse_response(&data[..end], CGI_MAX_HEADERS);
            assert_eq!(again, Ok(Status::Complete(resp.clone())));
            assert!(matches!(
                cgi::parse_response(&data[..end - 1], CGI_MAX_HEADERS),
                Ok(Status::Partial(_))
            ));
            if let Some(fewer) = resp.headers.len().checked_sub(1) {
                let e = cgi::parse_response(data, fewer).err();
                assert!(
                    matches!(
                        e.as_ref().map(Error::kind),
                        Some(ErrorKind::LimitExceeded { .. })
                    ),
                    "max_headers not enforced: {e:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// dump: the annotated renderer
// ---------------------------------------------------------------------------

/// `dump`: the annotated dump on arbitrary bytes, strict and lenient about
/// the version. Entries are the records [`fcgi_proto::record::records`] yields, back
/// to back; the framing error, if any, sits where they stop; every error lies
/// inside the input; the rendered text is printable and has a line per record.
pub fn dump(data: &[u8]) {
    // The strict pass's dump: the text is a function of the dump alone, so
    // a lenient dump equal to it (every record of version 1) has the same
    // text, checked once.
    let mut strict: Option<annotated::Dump<'_>> = None;
    for options in [
        ParseOptions::default(),
        ParseOptions::default().with_strict_version(false),
    ] {
        let d = annotated::dump_with(data, options);
        assert_eq!(d.len, data.len());
        let mut at = 0u64;
        let mut it = records_with(data, options);
        for e in &d.entries {
            assert_eq!(e.record.offset, at, "entries are back to back");
            at += e.record.header.record_len() as u64;
            let r = it.next();
            assert_eq!(r, Some(Ok(e.record)), "dump and records() agree");
            if let annotated::Detail::Malformed(err) = &e.detail {
                assert!(
                    err.offset() <= data.len() as u64,
                    "error {err} outside input"
                );
            }
        }
        match &d.error {
            Some(e) => {
                assert_eq!(e.offset(), at, "framing error where records stop");
                assert!(at < data.len() as u64);
            }
            None => assert_eq!(at, data.len() as u64, "a clean dump uses every byte"),
        }
        assert_eq!(d.is_clean(), d.first_error().is_none());
        if strict.as_ref().is_some_and(|sd| *sd == d) {
            // The same dump as the strict pass's: the same text, and the
            // streaming renderer was checked on it there (rendering it
            // again was 8% of this target's instructions).
            continue;
        }
        let text = d.to_string();
        assert!(!has_control(&text), "control characters in the dump");
        assert!(text.lines().count() >= d.entries.len());
        // The streaming renderer writes the same text, fed in uneven chunks
        // or in one push (as `render_with` does it): which one goes by the
        // input's length and the pass, so both are taken over a corpus and
        // an input whose two passes differ gets both.
        let render = annotated::RenderOptions {
            parse: options,
            ..annotated::RenderOptions::default()
        };
        let mut r = annotated::Renderer::new(render);
        let mut out = Vec::new();
        let pieces = if (data.len() % 2 == 1) == options.strict_version() {
            data.len() / 3 + 1
        } else {
            data.len().max(1)
        };
        for chunk in data.chunks(pieces) {
            let _ = r.push(chunk, &mut out);
        }
        let summary = r.finish(&mut out);
        assert_eq!(out, text.as_bytes(), "streamed and whole dumps differ");
        assert_eq!(
            summary.map(|s| s.is_clean()).ok(),
            Some(d.is_clean()),
            "streamed and whole verdicts differ"
        );
        if options.strict_version() {
            strict = Some(d);
        }
    }
}

/// What a byte of UTF-8 says about control characters: 0 none, 1 a C0
/// control or DEL (a character of its own), 2 the lead byte of U+0080 to
/// U+00BF, among which U+0080 to U+009F are the C1 controls.
static CONTROL_CLASS: [u8; 256] = control_class();

const fn control_class() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = 1;
        b += 1;
    }
    t[b'\n' as usize] = 0;
    t[0x7f] = 1;
    t[0xc2] = 2;
    t
}

/// Whether `text` holds a control character (`char::is_control`) other
/// than a newline. By bytes and a table, not by `chars()`: this runs on
/// every dump of every input, and each comparison in it goes through the
/// fuzzer's hooks (decoding chars made it a fifth of the `dump` target).
pub fn has_control(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, &c)| match CONTROL_CLASS[usize::from(c)] {
            0 => false,
            1 => true,
            _ => b.get(i + 1).is_some_and(|&n| n < 0xa0),
        })
}

// ---------------------------------------------------------------------------
// round_trip: typed records and bodies (§3.3, §5.1, §5.5, §4.2)
// ---------------------------------------------------------------------------

/// Input of [`round_trip`].
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct RoundTripInput {
    /// Padding policy.
    pub padding: Padding,
    /// Largest content per record when splitting streams; `None` and 0
    /// (kept so that the committed corpus still decodes) are the default.
    pub max_record_content: Option<u16>,
    /// A BEGIN_REQUEST body.
    pub begin: BeginRequestBody,
    /// An END_REQUEST body.
    pub end: EndRequestBody,
    /// An UNKNOWN_TYPE body.
    pub unknown: UnknownTypeBody,
    /// The records.
    pub records: Vec<OwnedRecord>,
}

/// `round_trip`: arbitrary typed records encoded then decoded come back
/// unchanged, with the padding the policy asks for; stream content split
/// into records joins back to itself; the fixed bodies of §5.1, §5.5 and
/// §4.2 survive `to_bytes` then `parse`.
pub fn round_trip(input: &RoundTripInput) {
    let mut enc = Encoder::default().with_padding(input.padding);
    if let Some(max) = input.max_record_content.and_then(NonZeroU16::new) {
        enc = enc.with_max_record_content(max);
    }
    let mut wire = Vec::new();
    for r in &input.records {
        let res = enc.record(r.record_type, r.request_id, &r.content, &mut wire);
        assert!(res.is_ok(), "records from arbitrary fit: {res:?}");
    }
    let mut n = 0;
    for (got, want) in records_with(&wire, ParseOptions::default()).zip(&input.records) {
        let got = match got {
            Ok(g) => g,
            Err(e) => panic!("encoded stream fails: {e}"),
        };
        assert_eq!(&got.to_owned(), want);
        assert_eq!(
            got.header.padding_length,
            input.padding.for_len(want.content.len())
        );
        n += 1;
    }
    assert_eq!(n, input.records.len());
    // The incremental decoder agrees on the whole stream at once.
    let mut d = Decoder::new();
    let mut m = 0;
    for chunk in wire.chunks(1 << 19) {
        assert!(d.push(chunk).is_ok());
        while let Ok(Some(r)) = d.next_record() {
            assert_eq!(Some(&r.to_owned()), input.records.get(m));
            m += 1;
        }
    }
    assert!(d.finish().is_ok());
    assert_eq!(m, input.records.len());

    // Streams split at max_record_content join back.
    let chunk = match input.max_record_content {
        Some(0) | None => fcgi_proto::record::MAX_CONTENT_LEN,
        Some(c) => usize::from(c),
    };
    let all: Vec<u8> = input
        .records
        .iter()
        .flat_map(|r| r.content.iter().copied())
        .collect();
    let mut s = Vec::new();
    assert!(enc.stream(StreamType::Stdout, 1, &all, &mut s).is_ok());
    assert!(enc.end_stream(StreamType::Stdout, 1, &mut s).is_ok());
    let mut joined = Vec::new();
    let mut ended = false;
    for r in records_with(&s, ParseOptions::default()) {
        let r = match r {
            Ok(r) => r,
            Err(e) => panic!("stream fails: {e}"),
        };
        assert!(!ended && r.content.len() <= chunk);
        ended = r.content.is_empty();
        joined.extend_from_slice(r.content);
    }
    assert!(ended && joined == all);

    // Fixed bodies.
    let b = BeginRequestBody::parse(&input.begin.to_bytes(), 0);
    assert_eq!(b, Ok(input.begin));
    let e = EndRequestBody::parse(&input.end.to_bytes(), 0);
    assert_eq!(e, Ok(input.end));
    let u = UnknownTypeBody::parse(&input.unknown.to_bytes(), 0);
    assert_eq!(u, Ok(input.unknown));
    assert_eq!(
        ProtocolStatus::from_u8(input.end.protocol_status.code()),
        input.end.protocol_status
    );
}
