//! Writes the seed corpora of every fuzz target into `fuzz/corpus/<target>/`
//! and the replayed seeds into `fcgi-proto-checks/tests/fuzz-regressions/<target>/`.
//!
//! Sources: the message flows of the FastCGI specification's appendix B,
//! rebuilt here with the crate's encoder, and the wire captures of real
//! peers that the conformance crate records in
//! `conformance/peers/<peer>/captures/*.bin`.
//!
//! Typed targets (`app_state_machine`, `server_state_machine`, `round_trip`)
//! take their input through `arbitrary`; the [`Arb`] writer below produces
//! the bytes `arbitrary` turns back into the wanted value, and every seed
//! is checked by parsing it back before it is written.
//!
//! Run: `cargo run --manifest-path fuzz/Cargo.toml --example make-seeds`
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use fcgi_proto::application::{BeginRequestBody, EndRequestBody, ProtocolStatus};
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::management::UnknownTypeBody;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::records;
use fcgi_proto::role::Role;
use fcgi_proto::{OwnedRecord, RecordType};
use fcgi_proto_checks::{
    self as checks, AppInput, AppStep, RoundTripInput, ServerInput, ServerStep,
};

type Res<T> = Result<T, Box<dyn Error>>;

/// Bytes that `arbitrary` 1.x reads back as chosen values (the inverse of
/// its readers for the types the fuzz inputs use).
#[derive(Default)]
struct Arb(Vec<u8>);

impl Arb {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A derived enum's variant: `(u32 * count) >> 32 == index`.
    fn variant(&mut self, index: u64, count: u64) -> &mut Self {
        let v = (index << 32).div_ceil(count);
        self.u32(u32::try_from(v).unwrap_or(u32::MAX))
    }
    fn padding(&mut self, p: Padding) -> &mut Self {
        match p {
            Padding::None => self.variant(0, 3),
            Padding::Align8 => self.variant(1, 3),
            Padding::Fixed(n) => self.variant(2, 3).u8(n),
        }
    }
    /// `OwnedRecord`: type, id, length from a full-range `int_in_range`
    /// (big-endian), content.
    fn record(&mut self, r: &OwnedRecord) -> &mut Self {
        self.u8(r.record_type.code()).u16(r.request_id);
        let len = u16::try_from(r.content.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(&r.content[..usize::from(len)]);
        self
    }
    fn received(&mut self, r: &OwnedRecord) -> &mut Self {
        self.bool(false).record(r)
    }
    fn limits(&mut self) -> &mut Self {
        // 8 requests, 255 pairs, 65535 PARAMS bytes.
        self.u8(7).u8(255).u16(u16::MAX)
    }
}

/// One direction of one conversation.
struct Flow {
    name: String,
    /// Sent by the web server.
    to_app: bool,
    bytes: Vec<u8>,
}

fn recs(list: &[(RecordType, u16, &[u8])]) -> Vec<OwnedRecord> {
    list.iter()
        .map(|(t, id, c)| OwnedRecord {
            record_type: *t,
            request_id: *id,
            content: c.to_vec(),
        })
        .collect()
}

fn wire(records: &[OwnedRecord]) -> Res<Vec<u8>> {
    let enc = Encoder::default();
    let mut out = Vec::new();
    for r in records {
        enc.record(r.record_type, r.request_id, &r.content, &mut out)?;
    }
    Ok(out)
}

fn pairs(list: &[(&str, &str)]) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    for (n, v) in list {
        name_value::encode_pair(n.as_bytes(), v.as_bytes(), &mut out)?;
    }
    Ok(out)
}

/// The four flows of appendix B, each as request and response streams.
fn appendix_b() -> Res<Vec<Flow>> {
    use RecordType::*;
    let begin = BeginRequestBody::new(Role::Responder, false).to_bytes();
    let begin_keep = BeginRequestBody::new(Role::Responder, true).to_bytes();
    let done = |app_status| {
        EndRequestBody {
            app_status,
            protocol_status: ProtocolStatus::RequestComplete,
        }
        .to_bytes()
    };
    let params = pairs(&[
        ("SERVER_PORT", "80"),
        ("SERVER_ADDR", "199.170.183.42"),
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", "/index.php"),
    ])?;
    let (p1, p2) = params.split_at(17);
    let page: &[u8] = b"Content-type: text/html\r\n\r\n<html>\n<head> ... ";
    let mut flows = Vec::new();
    let mut add = |name: &str, req: Vec<OwnedRecord>, resp: Vec<OwnedRecord>| -> Res<()> {
        flows.push(Flow {
            name: format!("appendix-b-{name}-request"),
            to_app: true,
            bytes: wire(&req)?,
        });
        flows.push(Flow {
            name: format!("appendix-b-{name}-response"),
            to_app: false,
            bytes: wire(&resp)?,
        });
        Ok(())
    };
    // B.1: no stdin data, successful response.
    add(
        "1",
        recs(&[
            (BeginRequest, 1, &begin),
            (Params, 1, &params),
            (Params, 1, b""),
            (Stdin, 1, b""),
        ]),
        recs(&[
            (Stdout, 1, page),
            (Stdout, 1, b""),
            (EndRequest, 1, &done(0)),
        ]),
    )?;
    // B.2: stdin data, PARAMS split inside a pair.
    add(
        "2",
        recs(&[
            (BeginRequest, 1, &begin),
            (Params, 1, p1),
            (Params, 1, p2),
            (Params, 1, b""),
            (Stdin, 1, b"quantity=100&item=3047936"),
            (Stdin, 1, b""),
        ]),
        recs(&[
            (Stdout, 1, page),
            (Stdout, 1, b""),
            (EndRequest, 1, &done(0)),
        ]),
    )?;
    // B.3: as B.2, with STDERR and a nonzero appStatus.
    add(
        "3",
        recs(&[
            (BeginRequest, 1, &begin),
            (Params, 1, p1),
            (Params, 1, p2),
            (Params, 1, b""),
            (Stdin, 1, b"quantity=100&item=3047936"),
            (Stdin, 1, b""),
        ]),
        recs(&[
            (Stdout, 1, b"Content-type: text/html\r\n\r\n<ht"),
            (Stderr, 1, b"config error: missing SI_UID\n"),
            (Stdout, 1, b"ml>\n<head> ... "),
            (Stdout, 1, b""),
            (Stderr, 1, b""),
            (EndRequest, 1, &done(938)),
        ]),
    )?;
    // B.4: two requests multiplexed on one connection.
    add(
        "4",
        recs(&[
            (BeginRequest, 1, &begin_keep),
            (Params, 1, &params),
            (Params, 1, b""),
            (BeginRequest, 2, &begin_keep),
            (Params, 2, &params),
            (Stdin, 1, b""),
            (Params, 2, b""),
            (Stdin, 2, b""),
        ]),
        recs(&[
            (Stdout, 1, b"Content-type: text/html\r\n\r\n"),
            (Stdout, 2, page),
            (Stdout, 2, b""),
            (EndRequest, 2, &done(0)),
            (Stdout, 1, b"<html>\n<head> ... "),
            (Stdout, 1, b""),
            (EndRequest, 1, &done(0)),
        ]),
    )?;
    // Management records (§4.1, §4.2).
    let mut q = Vec::new();
    Encoder::default().get_values(
        [&b"FCGI_MAX_CONNS"[..], b"FCGI_MAX_REQS", b"FCGI_MPXS_CONNS"],
        &mut q,
    )?;
    flows.push(Flow {
        name: "get-values".into(),
        to_app: true,
        bytes: q,
    });
    let answer = pairs(&[
        ("FCGI_MAX_CONNS", "10"),
        ("FCGI_MAX_REQS", "50"),
        ("FCGI_MPXS_CONNS", "0"),
    ])?;
    let unknown = UnknownTypeBody { record_type: 42 }.to_bytes();
    flows.push(Flow {
        name: "get-values-result".into(),
        to_app: false,
        bytes: wire(&recs(&[
            (GetValuesResult, 0, &answer),
            (UnknownType, 0, &unknown),
        ]))?,
    });
    Ok(flows)
}

/// Real captures: requests from web servers, responses from applications.
fn captures(root: &Path) -> Res<Vec<Flow>> {
    let mut flows = Vec::new();
    let peers = root.join("conformance/peers");
    let Ok(dirs) = fs::read_dir(&peers) else {
        return Ok(flows);
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for d in dirs.flatten() {
        if let Ok(caps) = fs::read_dir(d.path().join("captures")) {
            files.extend(caps.flatten().map(|f| f.path()));
        }
    }
    files.sort();
    for f in files {
        if f.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let bytes = fs::read(&f)?;
        // Keep the corpus small: captures beyond 64 KiB add little.
        if bytes.is_empty() || bytes.len() > 64 << 10 {
            continue;
        }
        let peer = f
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .unwrap_or("peer");
        let stem = f.file_stem().and_then(|n| n.to_str()).unwrap_or("capture");
        // Who sent it: the first record's direction.
        let to_app = records(&bytes)
            .next()
            .and_then(Result::ok)
            .and_then(|r| r.record_type().direction())
            .map_or(!stem.contains("response"), |d| {
                d == fcgi_proto::error::Direction::ToApplication
            });
        flows.push(Flow {
            name: format!("capture-{peer}-{stem}"),
            to_app,
            bytes,
        });
    }
    Ok(flows)
}

fn owned(bytes: &[u8]) -> Vec<OwnedRecord> {
    records(bytes)
        .map_while(Result::ok)
        .map(|r| r.to_owned())
        .collect()
}

/// The content of every stream of `t`, joined per request id.
fn joined(bytes: &[u8], t: RecordType) -> Vec<Vec<u8>> {
    let mut by_id: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    for r in records(bytes).map_while(Result::ok) {
        if r.record_type() == t {
            by_id
                .entry(r.request_id())
                .or_default()
                .extend_from_slice(r.content);
        }
    }
    by_id.into_values().filter(|v| !v.is_empty()).collect()
}

fn app_seed(flow: &Flow) -> Res<Vec<u8>> {
    let recs = owned(&flow.bytes);
    let mut a = Arb::default();
    a.limits().bool(false).padding(Padding::Align8);
    let mut steps = Vec::new();
    for r in &recs {
        a.bool(true).variant(0, 6).received(r);
        steps.push(AppStep::Receive(checks::Received {
            small_id: false,
            record: r.clone(),
        }));
    }
    // Then the application answers every request it began.
    let ids: Vec<u16> = recs
        .iter()
        .filter(|r| r.record_type == RecordType::BeginRequest)
        .map(|r| r.request_id)
        .collect();
    for id in ids.into_iter().filter(|id| *id < 5) {
        let id8 = u8::try_from(id)?;
        a.bool(true).variant(1, 6).u8(id8).u16(40);
        a.bool(true).variant(2, 6).u8(id8);
        a.bool(true)
            .variant(5, 6)
            .u8(id8)
            .u32(0)
            .u8(ProtocolStatus::RequestComplete.code());
        steps.push(AppStep::Stdout { id: id8, len: 40 });
        steps.push(AppStep::EndStdout { id: id8 });
        steps.push(AppStep::EndRequest {
            id: id8,
            app_status: 0,
            status: ProtocolStatus::RequestComplete,
        });
    }
    let want = AppInput {
        limits: checks::SmallLimits {
            max_requests: 7,
            max_pairs: 255,
            max_params_bytes: u16::MAX,
        },
        inactive_error: false,
        padding: Padding::Align8,
        steps,
    };
    check(checks::typed::<AppInput>(&a.0) == Some(want), &flow.name)?;
    Ok(a.0)
}

fn server_seed(flow: &Flow) -> Res<Vec<u8>> {
    let recs = owned(&flow.bytes);
    let mut a = Arb::default();
    a.limits().bool(false).padding(Padding::Align8);
    let mut steps = Vec::new();
    // The web server first sends each request the response answers.
    let mut ids: Vec<u16> = recs
        .iter()
        .map(|r| r.request_id)
        .filter(|id| (1..5).contains(id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let id8 = u8::try_from(id)?;
        a.bool(true).variant(1, 9).u8(id8).u16(1).bool(true);
        a.bool(true).variant(2, 9).u8(id8).u8(4).u16(12);
        a.bool(true).variant(3, 9).u8(id8);
        a.bool(true).variant(5, 9).u8(id8);
        steps.push(ServerStep::BeginRequest {
            id: id8,
            role: Role::Responder,
            keep_conn: true,
        });
        steps.push(ServerStep::Params {
            id: id8,
            count: 4,
            value_len: 12,
        });
        steps.push(ServerStep::EndParams { id: id8 });
        steps.push(ServerStep::EndStdin { id: id8 });
    }
    for r in &recs {
        a.bool(true).variant(0, 9).received(r);
        steps.push(ServerStep::Receive(checks::Received {
            small_id: false,
            record: r.clone(),
        }));
    }
    let want = ServerInput {
        limits: checks::SmallLimits {
            max_requests: 7,
            max_pairs: 255,
            max_params_bytes: u16::MAX,
        },
        require_stdout_end: false,
        padding: Padding::Align8,
        steps,
    };
    check(checks::typed::<ServerInput>(&a.0) == Some(want), &flow.name)?;
    Ok(a.0)
}

fn round_trip_seed(flow: &Flow) -> Res<Vec<u8>> {
    let recs = owned(&flow.bytes);
    let begin = BeginRequestBody::new(Role::Filter, true);
    let end = EndRequestBody {
        app_status: 7,
        protocol_status: ProtocolStatus::Overloaded,
    };
    let mut a = Arb::default();
    a.padding(Padding::Fixed(3)).bool(true).u16(100);
    a.u16(begin.role.code()).u8(begin.flags);
    a.u32(end.app_status).u8(end.protocol_status.code());
    a.u8(42);
    for r in &recs {
        a.bool(true).record(r);
    }
    let want = RoundTripInput {
        padding: Padding::Fixed(3),
        max_record_content: Some(100),
        begin,
        end,
        unknown: UnknownTypeBody { record_type: 42 },
        records: recs,
    };
    check(
        checks::typed::<RoundTripInput>(&a.0) == Some(want),
        &flow.name,
    )?;
    Ok(a.0)
}

fn check(ok: bool, what: &str) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("seed {what} does not parse back to its value").into())
    }
}

/// Handwritten name-value blocks: the dictionary's hostile lengths.
fn hostile_blocks() -> Res<Vec<(&'static str, Vec<u8>)>> {
    let mut long_short = Vec::new();
    name_value::encode_pair_with(
        b"HTTP_HOST",
        b"x",
        LengthForm::Long,
        LengthForm::Long,
        &mut long_short,
    )?;
    Ok(vec![
        ("len-7f", vec![0x7f, 0x00, b'A']),
        ("len-80000080", vec![0x80, 0x00, 0x00, 0x80, 0x01, b'A']),
        ("len-ffffffff", vec![0xff, 0xff, 0xff, 0xff, 0x00, b'A']),
        ("long-form-short-len", long_short),
        ("value-len-missing", vec![0x03]),
    ])
}

fn cgi_heads() -> Vec<(&'static str, &'static [u8])> {
    vec![
        (
            "status-location",
            b"Status: 302 Found\r\nLocation: /next\r\n\r\n",
        ),
        (
            "content-type-lf",
            b"Content-Type: text/plain\nX-Powered-By: t\n\nbody",
        ),
        (
            "authorizer-vars",
            b"Status: 200\r\nVariable-REMOTE_USER: alice\r\nContent-Type: text/plain\r\n\r\n",
        ),
        ("folded", b"Content-Type: text/plain\r\n folded\r\n\r\n"),
        ("bad-status", b"Status: 2000 Nope\r\n\r\n"),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Res<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(format!("{name}.bin")), bytes)?;
    Ok(())
}

fn main() -> Res<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no repository root")?
        .to_path_buf();
    let corpus = root.join("fuzz/corpus");
    let replay = root.join("fcgi-proto-checks/tests/fuzz-regressions");
    let spec = appendix_b()?;
    let caps = captures(&root)?;
    let mut n = 0usize;
    for (flows, replayed) in [(&spec, true), (&caps, false)] {
        for flow in flows.iter() {
            let mut out: Vec<(&str, Vec<u8>)> = vec![("dump", flow.bytes.clone())];
            // record_stream: whole (n = 0), then in small chunks.
            let mut whole = flow.bytes.clone();
            whole.push(0);
            let mut chunked = flow.bytes.clone();
            chunked.extend_from_slice(&[1, 7, 3, 0, 200, 5]);
            out.push(("record_stream", whole));
            out.push(("record_stream", chunked));
            for t in [
                RecordType::Params,
                RecordType::GetValues,
                RecordType::GetValuesResult,
            ] {
                for block in joined(&flow.bytes, t) {
                    out.push(("params_truncated", block));
                }
            }
            for head in joined(&flow.bytes, RecordType::Stdout) {
                out.push(("cgi_response", head));
            }
            if flow.to_app {
                out.push(("app_state_machine", app_seed(flow)?));
            } else {
                out.push(("server_state_machine", server_seed(flow)?));
            }
            out.push(("round_trip", round_trip_seed(flow)?));
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            for (target, bytes) in out {
                let k = seen.entry(target).or_default();
                let name = if *k == 0 {
                    flow.name.clone()
                } else {
                    format!("{}-{k}", flow.name)
                };
                *k += 1;
                write(&corpus.join(target), &name, &bytes)?;
                if replayed {
                    write(&replay.join(target), &format!("seed-{name}"), &bytes)?;
                }
                n += 1;
            }
        }
    }
    for (name, block) in hostile_blocks()? {
        write(
            &corpus.join("params_truncated"),
            &format!("hostile-{name}"),
            &block,
        )?;
        write(
            &replay.join("params_truncated"),
            &format!("hostile-{name}"),
            &block,
        )?;
        let mut rec = Vec::new();
        Encoder::default().record(RecordType::Params, 1, &block, &mut rec)?;
        write(&corpus.join("dump"), &format!("hostile-{name}"), &rec)?;
        n += 2;
    }
    for (name, head) in cgi_heads() {
        write(&corpus.join("cgi_response"), name, head)?;
        write(&replay.join("cgi_response"), &format!("seed-{name}"), head)?;
        n += 1;
    }
    println!(
        "wrote {n} seeds ({} appendix B flows, {} captures) under {}",
        spec.len(),
        caps.len(),
        corpus.display()
    );
    Ok(())
}
