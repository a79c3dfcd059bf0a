//! `dump` of packet captures: the real tcpdump fixtures of
//! `tests/fixtures/captures/` (README.md there says how each was made),
//! pinned as insta snapshots of the text and JSON dumps, and synthetic
//! captures built with etherparse's PacketBuilder and pcap-parser's writer
//! for the reassembly edge cases (out of order, retransmitted overlaps, a
//! loss, a file cut inside a packet, packets cut to the snaplen).

use fcgi_proto::stream::StreamType;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use etherparse::PacketBuilder;
use fcgi_conformance::__private::capture::{self, file::Kind, CaptureError, Options};
use fcgi_proto::dump::{Format, RenderOptions};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::role::Role;
use pcap_parser::pcapng::{EnhancedPacketBlock, InterfaceDescriptionBlock, SectionHeaderBlock};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{
    LegacyPcapBlock, LegacyPcapReader, Linktype, OptionCode, PcapBlockOwned, PcapError, PcapHeader,
    PcapNGOption, ToVec,
};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fcgi-conformance")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/captures")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim_end().to_string()
}

// ---- the real captures ------------------------------------------------

/// Dumps a fixture as text and JSON, checks the exit code and the JSON's
/// agreement with the text, and returns both.
fn dump_fixture(name: &str, extra: &[&str], code: i32) -> (String, serde_json::Value, String) {
    let path = fixture(name);
    let path = path.to_str().unwrap();
    let mut args = vec!["dump", path];
    args.extend_from_slice(extra);
    let text = run(&args);
    assert_eq!(text.status.code(), Some(code), "{name}: {}", stderr(&text));
    args.extend_from_slice(&["--format", "json"]);
    let json = run(&args);
    assert_eq!(json.status.code(), Some(code), "{name}: {}", stderr(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["schema"], capture::CAPTURE_SCHEMA);
    assert_eq!(v["clean"], code == 0);
    // The JSON holds as many records as the text has record lines, each
    // naming a stream that exists.
    let text = stdout(&text);
    let streams = v["streams"].as_array().unwrap();
    let records = v["records"].as_array().unwrap();
    let total: u64 = streams.iter().map(|s| s["records"].as_u64().unwrap()).sum();
    assert_eq!(records.len() as u64, total, "{name}");
    for r in records {
        let s = &streams[r["stream"].as_u64().unwrap() as usize];
        assert!(s["source"].is_string(), "{r}");
        assert!(r["time"].is_number(), "{r}");
    }
    assert_eq!(
        text.lines().filter(|l| l.contains("  END (")).count(),
        streams.len(),
        "{name}: one END line per stream\n{text}"
    );
    (text, v, stdout(&json))
}

#[test]
fn nginx_to_php_fpm_on_ethernet_is_clean_and_stable() {
    let (text, json, raw) = dump_fixture("nginx-php-fpm.pcap", &[], 0);
    assert!(
        text.starts_with("capture pcap, link type ETHERNET;"),
        "{text}"
    );
    // Two connections: the keepalive one (GET then POST, still open when
    // the capture stops) and the /plain/ one (closed by php-fpm).
    assert!(text.contains("connection 2: "), "{text}");
    assert!(text.contains("REQUEST_METHOD = \"POST\""), "{text}");
    assert!(text.contains("END (capture ends)"), "{text}");
    assert!(text.contains("END (FIN)"), "{text}");
    // Requests and answers alternate in time: the first STDOUT comes
    // between the two BEGIN_REQUESTs of the keepalive connection.
    let begins: Vec<usize> = text
        .match_indices("  BEGIN_REQUEST     ")
        .map(|(i, _)| i)
        .collect();
    let stdout_at = text.find("  STDOUT      ").unwrap();
    assert!(begins[0] < stdout_at && stdout_at < begins[1], "{text}");
    assert_eq!(json["connections"].as_array().unwrap().len(), 2);
    insta::assert_snapshot!("nginx_php_fpm_text", text);
    insta::assert_snapshot!("nginx_php_fpm_json", raw);
}

#[test]
fn linux_cooked_captures_give_the_same_records() {
    let (ether, _, _) = dump_fixture("nginx-php-fpm.pcap", &["--no-offsets"], 0);
    // Without the times (each capture has its own clock and digits), the
    // margins that follow their width, and the header line.
    let records = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = t
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("summary"))
            .map(|l| {
                let l = l.trim_start();
                match l.split_once("  ") {
                    Some((time, rest)) if time.parse::<f64>().is_ok() => rest.to_string(),
                    _ => l.to_string(),
                }
            })
            .collect();
        // The END lines at the capture's end share one time: their order
        // is the streams' order, the same in both.
        v.sort();
        v
    };
    for (name, link, snap) in [
        ("nginx-php-fpm-sll.pcap", "LINUX_SLL", "sll_text"),
        (
            "nginx-php-fpm-any-nano.pcap",
            "LINUX_SLL2",
            "sll2_nanoseconds_text",
        ),
    ] {
        let (text, _, _) = dump_fixture(name, &["--no-offsets"], 0);
        assert!(
            text.starts_with(&format!("capture pcap, link type {link};")),
            "{text}"
        );
        assert_eq!(records(&ether), records(&text), "{name}");
        insta::assert_snapshot!(snap, text);
    }
}

#[test]
fn a_snaplen_capture_shows_where_the_bytes_were_cut_and_exits_1() {
    let (text, json, _) = dump_fixture("nginx-php-fpm-snaplen.pcap", &[], 1);
    assert!(
        text.contains("cut off by the capture's snapshot length"),
        "{text}"
    );
    let gaps: Vec<_> = json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["gaps"][0]["cause"] == "snaplen")
        .collect();
    assert_eq!(gaps.len(), 4, "{json}");
    insta::assert_snapshot!("nginx_php_fpm_snaplen_text", text);
}

#[test]
fn the_suite_against_php_fpm_over_ipv6_by_content_and_by_port() {
    let (text, json, raw) = dump_fixture("suite-php-fpm-ipv6.pcap", &["--no-offsets"], 0);
    assert!(text.contains("[::1]:"), "{text}");
    assert!(text.contains("GET_VALUES_RESULT"), "{text}");
    assert!(text.contains("pad=255"), "{text}");
    // By content, the wrong-version case's connection is not FastCGI (its
    // first record has version 2); by port it is shown with its error.
    let port = json["streams"][0]["destination"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let (by_port, pj, _) = dump_fixture(
        "suite-php-fpm-ipv6.pcap",
        &["--no-offsets", "--port", &port],
        1,
    );
    assert!(
        by_port.contains("ERROR version 2 is not FCGI_VERSION_1 (§3.3, R-3.3-1)"),
        "{by_port}"
    );
    assert_eq!(
        pj["connections"].as_array().unwrap().len(),
        json["connections"].as_array().unwrap().len() + 1
    );
    insta::assert_snapshot!("suite_php_fpm_ipv6_text", text);
    // Its JSON is that of the other captures (pinned above); one text
    // snapshot is enough for this larger capture.
    assert!(raw.contains("\"source\":\"[::1]:"), "{raw}");
}

/// A frame of a classic pcap file: seconds, fraction, length on the wire, bytes.
type LegacyFrame = (u32, u32, u32, Vec<u8>);

/// The frames of a classic pcap file, with its header.
fn frames_of(bytes: &[u8]) -> (PcapHeader, Vec<LegacyFrame>) {
    let mut r = LegacyPcapReader::new(1 << 20, bytes).unwrap();
    let mut header = None;
    let mut frames = Vec::new();
    loop {
        match r.next() {
            Ok((n, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => header = Some(h),
                    PcapBlockOwned::Legacy(b) => {
                        frames.push((b.ts_sec, b.ts_usec, b.origlen, b.data.to_vec()))
                    }
                    PcapBlockOwned::NG(_) => unreachable!(),
                }
                r.consume(n);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
            Err(e) => panic!("{e:?}"),
        }
    }
    (header.unwrap(), frames)
}

/// A pcapng file of the same frames: one interface with `tsresol`
/// (6: microseconds, 9: nanoseconds).
fn to_pcapng(header: &PcapHeader, frames: &[LegacyFrame], tsresol: u8) -> Vec<u8> {
    let mut out = SectionHeaderBlock {
        block_type: 0,
        block_len1: 0,
        bom: 0x1a2b_3c4d,
        major_version: 1,
        minor_version: 0,
        section_len: -1,
        options: vec![],
        block_len2: 0,
    }
    .to_vec()
    .unwrap();
    out.extend(
        InterfaceDescriptionBlock {
            block_type: 0,
            block_len1: 0,
            linktype: header.network,
            reserved: 0,
            snaplen: header.snaplen,
            options: vec![PcapNGOption {
                code: OptionCode::IfTsresol,
                len: 1,
                value: Cow::Owned(vec![tsresol, 0, 0, 0]),
            }],
            block_len2: 0,
            if_tsresol: tsresol,
            if_tsoffset: 0,
        }
        .to_vec()
        .unwrap(),
    );
    let units: u64 = 10u64.pow(u32::from(tsresol));
    let frac_units: u64 = if header.is_nanosecond_precision() {
        1_000_000_000
    } else {
        1_000_000
    };
    for (sec, frac, orig, data) in frames {
        let ticks = u64::from(*sec) * units + u64::from(*frac) * units / frac_units;
        let mut padded = data.clone();
        padded.resize(data.len().div_ceil(4) * 4, 0);
        out.extend(
            EnhancedPacketBlock {
                block_type: 0,
                block_len1: 0,
                if_id: 0,
                ts_high: (ticks >> 32) as u32,
                ts_low: ticks as u32,
                caplen: data.len() as u32,
                origlen: *orig,
                data: &padded,
                options: vec![],
                block_len2: 0,
            }
            .to_vec()
            .unwrap(),
        );
    }
    out
}

#[test]
fn pcapng_of_the_same_packets_gives_the_same_dump() {
    for (name, tsresol) in [
        ("nginx-php-fpm.pcap", 6),
        ("nginx-php-fpm-any-nano.pcap", 9),
    ] {
        let pcap = std::fs::read(fixture(name)).unwrap();
        let (header, frames) = frames_of(&pcap);
        let ng = to_pcapng(&header, &frames, tsresol);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("capture.pcapng");
        std::fs::write(&p, &ng).unwrap();
        let a = run(&["dump", fixture(name).to_str().unwrap()]);
        let b = run(&["dump", p.to_str().unwrap()]);
        assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
        let (a, b) = (stdout(&a), stdout(&b));
        assert!(b.starts_with("capture pcapng, "), "{b}");
        assert_eq!(
            a.lines().skip(1).collect::<Vec<_>>(),
            b.lines().skip(1).collect::<Vec<_>>(),
            "{name}"
        );
        // Read from standard input alike.
        let mut child = Command::new(bin())
            .args(["dump", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(&ng).unwrap();
        }
        let piped = child.wait_with_output().unwrap();
        assert_eq!(stdout(&piped), b);
    }
}

#[test]
fn a_big_endian_pcap_gives_the_same_dump() {
    let pcap = std::fs::read(fixture("nginx-php-fpm.pcap")).unwrap();
    let (header, frames) = frames_of(&pcap);
    let mut be = Vec::new();
    be.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
    be.extend_from_slice(&2u16.to_be_bytes());
    be.extend_from_slice(&4u16.to_be_bytes());
    be.extend_from_slice(&[0; 8]);
    be.extend_from_slice(&header.snaplen.to_be_bytes());
    be.extend_from_slice(&(header.network.0 as u32).to_be_bytes());
    for (sec, usec, orig, data) in &frames {
        for v in [*sec, *usec, data.len() as u32, *orig] {
            be.extend_from_slice(&v.to_be_bytes());
        }
        be.extend_from_slice(data);
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("be.pcap");
    std::fs::write(&p, &be).unwrap();
    let a = stdout(&run(&[
        "dump",
        fixture("nginx-php-fpm.pcap").to_str().unwrap(),
    ]));
    let b = run(&["dump", p.to_str().unwrap()]);
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    assert_eq!(a, stdout(&b));
}

// ---- refusals ------------------------------------------------------------

#[test]
fn neither_fastcgi_nor_a_capture_is_refused_in_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let http = dir.path().join("http.txt");
    std::fs::write(&http, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let o = run(&["dump", http.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("is neither FastCGI records nor a pcap/pcapng capture (it starts with 47 45 54 20 2f 20 48 54 \"GET / HT\")"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    // --port on raw FastCGI bytes.
    let raw = dir.path().join("raw.bin");
    std::fs::write(&raw, [1, 6, 0, 1, 0, 0, 0, 0]).unwrap();
    let o = run(&["dump", "--port", "9000", raw.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--port applies to pcap and pcapng captures only"));
    // A pcap magic with a cut header.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap();
    let o = run(&["dump", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("starts like a pcap capture, but"),
        "{}",
        stderr(&o)
    );
}

// ---- synthetic captures ---------------------------------------------------

const WEB: [u8; 4] = [127, 0, 0, 1];
const APP: [u8; 4] = [127, 0, 0, 2];

/// One packet: when (µs after the start), from which side, flags, bytes.
#[derive(Clone)]
struct Pkt {
    us: u64,
    from_web: bool,
    seq: u32,
    flags: &'static str,
    payload: Vec<u8>,
    /// Bytes captured of the frame, when cut to a snapshot length.
    caplen: Option<usize>,
}

fn pkt(us: u64, from_web: bool, seq: u32, flags: &'static str, payload: &[u8]) -> Pkt {
    Pkt {
        us,
        from_web,
        seq,
        flags,
        payload: payload.to_vec(),
        caplen: None,
    }
}

fn frame(p: &Pkt) -> Vec<u8> {
    let (src, dst, sp, dp) = if p.from_web {
        (WEB, APP, 40000, 9000)
    } else {
        (APP, WEB, 9000, 40000)
    };
    let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, p.seq, 65535);
    for f in p.flags.chars() {
        b = match f {
            'S' => b.syn(),
            'F' => b.fin(),
            'R' => b.rst(),
            'P' => b.psh(),
            _ => b,
        };
    }
    let mut out = Vec::new();
    b.write(&mut out, &p.payload).unwrap();
    out
}

fn pcap(pkts: &[Pkt]) -> Vec<u8> {
    let mut h = PcapHeader::new();
    h.magic_number = 0xa1b2_c3d4;
    h.snaplen = 262_144;
    h.network = Linktype::ETHERNET;
    let mut out = h.to_vec().unwrap();
    for p in pkts {
        let f = frame(p);
        let cap = p.caplen.unwrap_or(f.len()).min(f.len());
        let us = 1_700_000_000_000_000 + p.us;
        out.extend(
            LegacyPcapBlock {
                ts_sec: (us / 1_000_000) as u32,
                ts_usec: (us % 1_000_000) as u32,
                caplen: cap as u32,
                origlen: f.len() as u32,
                data: &f[..cap],
            }
            .to_vec()
            .unwrap(),
        );
    }
    out
}

/// The web server's request and the application's answer.
fn request() -> Vec<u8> {
    let enc = Encoder::default();
    let mut w = Vec::new();
    enc.begin_request(1, Role::Responder, false, &mut w)
        .unwrap();
    enc.params(1, [(&b"SCRIPT_NAME"[..], &b"/x"[..])], &mut w)
        .unwrap();
    enc.end_stream(StreamType::Params, 1, &mut w).unwrap();
    enc.stream(StreamType::Stdin, 1, b"hello", &mut w).unwrap();
    enc.end_stream(StreamType::Stdin, 1, &mut w).unwrap();
    w
}

fn answer() -> Vec<u8> {
    let enc = Encoder::default();
    let mut w = Vec::new();
    enc.stream(StreamType::Stdout, 1, b"Status: 200 OK\r\n\r\nhi", &mut w)
        .unwrap();
    enc.end_stream(StreamType::Stdout, 1, &mut w).unwrap();
    enc.end_request(
        1,
        0,
        fcgi_proto::application::ProtocolStatus::RequestComplete,
        &mut w,
    )
    .unwrap();
    w
}

/// A whole conversation, the request in `split` pieces, in order.
fn conversation(split: usize) -> Vec<Pkt> {
    let req = request();
    let ans = answer();
    let mut v = vec![pkt(0, true, 999, "S", b""), pkt(10, false, 4999, "S", b"")];
    let step = req.len().div_ceil(split);
    for (i, chunk) in req.chunks(step).enumerate() {
        v.push(pkt(
            20 + i as u64,
            true,
            1000 + (i * step) as u32,
            "P",
            chunk,
        ));
    }
    v.push(pkt(100, false, 5000, "P", &ans));
    v.push(pkt(110, false, 5000 + ans.len() as u32, "F", b""));
    v.push(pkt(120, true, 1000 + req.len() as u32, "F", b""));
    v
}

fn dump(bytes: &[u8], json: bool) -> (String, Result<capture::Outcome, CaptureError>) {
    let kind = capture::file::sniff(bytes).unwrap();
    let options = Options {
        render: RenderOptions {
            format: if json { Format::Json } else { Format::Text },
            ..RenderOptions::default()
        },
        ports: vec![],
    };
    let mut out = Vec::new();
    let r = capture::dump(kind, bytes, &options, &mut out);
    (String::from_utf8(out).unwrap(), r)
}

#[test]
fn a_synthetic_conversation_is_dumped_whole() {
    let (text, r) = dump(&pcap(&conversation(3)), false);
    assert_eq!(
        r.unwrap(),
        capture::Outcome {
            connections: 1,
            clean: true
        }
    );
    assert!(text.contains("connection 1: 127.0.0.1:40000 → 127.0.0.2:9000, FastCGI by content: 127.0.0.1:40000 sent a BEGIN_REQUEST header first\n"), "{text}");
    assert!(
        text.contains("127.0.0.2:9000 → 127.0.0.1:40000       0  STDOUT"),
        "{text}"
    );
    assert!(
        text.contains("END (FIN) 72 bytes, 5 records, clean"),
        "{text}"
    );
    insta::assert_snapshot!("synthetic_conversation_text", text);
    let (json, _) = dump(&pcap(&conversation(3)), true);
    insta::assert_snapshot!("synthetic_conversation_json", json);
}

#[test]
fn out_of_order_and_retransmitted_segments_dump_as_the_ordered_stream() {
    let ordered = dump(&pcap(&conversation(4)), false).0;
    let mut v = conversation(4);
    // Request pieces at 2..6: deliver 3, 5, 2, then a retransmission of
    // 2-and-3 as one overlapping segment, then 4.
    let req = request();
    let step = req.len().div_ceil(4);
    let (p2, p3, p4, p5) = (v[2].clone(), v[3].clone(), v[4].clone(), v[5].clone());
    let mut both = p2.clone();
    both.payload = req[..2 * step].to_vec();
    let shuffled = vec![p3, p5, p2, both, p4];
    v.splice(2..6, shuffled);
    // Times must not decrease for the comparison: relabel them in order.
    for (i, p) in v.iter_mut().enumerate() {
        p.us = i as u64 * 10;
    }
    let mut ordered_relabelled = conversation(4);
    for (i, p) in ordered_relabelled.iter_mut().enumerate() {
        p.us = i as u64 * 10;
    }
    let (text, r) = dump(&pcap(&v), false);
    assert!(r.unwrap().clean, "{text}");
    // The same lines but the packet count of the summary (one more).
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("summary"))
            .map(|l| l.get(11..).unwrap_or(l).to_string())
            .collect()
    };
    assert_eq!(
        strip(&text),
        strip(&dump(&pcap(&ordered_relabelled), false).0)
    );
    assert!(!ordered.is_empty());
}

#[test]
fn a_lost_segment_is_a_gap_and_the_dump_is_not_clean() {
    let mut v = conversation(4);
    v.remove(3);
    let (text, r) = dump(&pcap(&v), false);
    assert!(!r.unwrap().clean);
    let step = request().len().div_ceil(4);
    assert!(
        text.contains(&format!(
            "GAP {step} bytes missing at byte {step} (not in the capture); decoding resumes at a segment that starts with a FastCGI header"
        )),
        "{text}"
    );
    // The record the gap cut is said; no later segment starts a record.
    assert!(text.contains("ERROR truncated record"), "{text}");
    assert!(
        text.contains(&format!(
            "END (FIN) 72 bytes, 1 record, 1 gap, {} bytes not decoded, not clean",
            72 - 2 * step
        )),
        "{text}"
    );
    // The answer is still dumped.
    assert!(text.contains("END_REQUEST"), "{text}");
}

#[test]
fn after_a_lost_segment_decoding_resumes_at_a_segment_that_starts_a_record() {
    // The request in segments that each start a record: BEGIN_REQUEST,
    // PARAMS with its pair, the empty PARAMS, the two STDIN records. The
    // PARAMS segment is lost.
    let req = request();
    let cuts = [0usize, 16, 40, 48, 72];
    let mut v = vec![pkt(0, true, 999, "S", b""), pkt(10, false, 4999, "S", b"")];
    for (i, w) in cuts.windows(2).enumerate() {
        if i != 1 {
            v.push(pkt(
                20 + i as u64,
                true,
                1000 + w[0] as u32,
                "P",
                &req[w[0]..w[1]],
            ));
        }
    }
    v.push(pkt(100, false, 5000, "P", &answer()));
    v.push(pkt(120, true, 1072, "F", b""));
    let (text, r) = dump(&pcap(&v), false);
    assert!(!r.unwrap().clean);
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
    assert!(
        at("GAP 24 bytes missing at byte 16")
            < at("RESUMED at byte 40: a segment starts with a PARAMS header"),
        "{text}"
    );
    // Offsets after the gap are the stream's own.
    assert!(
        text.contains("      40  PARAMS            id=1 len=0 pad=0  (end of stream)"),
        "{text}"
    );
    assert!(
        text.contains("      64  STDIN             id=1 len=0 pad=0  (end of stream)"),
        "{text}"
    );
    assert!(
        text.contains("END (FIN) 72 bytes, 4 records, 1 gap, not clean"),
        "{text}"
    );
    let (json, _) = dump(&pcap(&v), true);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let web = &doc["streams"][0];
    assert_eq!(web["records"], 4);
    assert_eq!(web["decoded"], 48);
    assert_eq!(web["gaps"][0]["offset"], 16);
    assert_eq!(web["gaps"][0]["length"], 24);
    let offsets: Vec<u64> = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["stream"] == 0)
        .map(|r| r["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 40, 48, 64]);
}

#[test]
fn a_capture_cut_inside_a_packet_dumps_what_it_holds_and_says_so() {
    let whole = pcap(&conversation(1));
    let cut = &whole[..whole.len() - 30];
    let (text, r) = dump(cut, false);
    // The last packet (the web server's FIN) is cut: both answer records
    // and the request are whole, so the streams are clean.
    assert!(r.unwrap().clean, "{text}");
    assert!(
        text.contains("note: reading stopped early: the file ends inside the block at byte"),
        "{text}"
    );
    assert!(text.contains("END (capture ends)"), "{text}");
}

#[test]
fn packets_cut_to_the_snaplen_are_gaps_at_once() {
    let mut v = conversation(1);
    // The request packet keeps 14 + 20 + 20 header bytes and 10 payload bytes.
    v[2].caplen = Some(64);
    let (text, r) = dump(&pcap(&v), false);
    assert!(!r.unwrap().clean);
    let missing = request().len() - 10;
    assert!(
        text.contains(&format!(
            "GAP {missing} bytes missing at byte 10 (cut off by the capture's snapshot length)"
        )),
        "{text}"
    );
    assert!(text.contains("ERROR truncated record"), "{text}");
}

#[test]
fn http_only_captures_have_no_fastcgi_connection() {
    let v = vec![
        pkt(0, true, 1, "S", b""),
        pkt(1, true, 2, "P", b"GET / HTTP/1.1\r\n\r\n"),
        pkt(2, false, 7, "P", b"HTTP/1.1 200 OK\r\n\r\n"),
    ];
    let (text, r) = dump(&pcap(&v), false);
    assert!(text.is_empty(), "{text}");
    match r {
        Err(CaptureError::NoFastCgi(why)) => assert!(
            why.starts_with("no FastCGI connection in this pcap capture (3 packets, 3 TCP segments; 1 connections whose first bytes are not a FastCGI header)"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    // By the CLI: exit 2, one line.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("http.pcap");
    std::fs::write(&p, pcap(&v)).unwrap();
    let o = run(&["dump", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1);
    assert!(o.stdout.is_empty());
}

#[test]
fn many_connections_past_the_bound_are_counted_not_followed() {
    // Every connection one SYN and a plausible header: past the open
    // FastCGI bound, the rest are counted in a note.
    let mut bytes = PcapHeader {
        magic_number: 0xa1b2_c3d4,
        snaplen: 65535,
        network: Linktype::ETHERNET,
        ..PcapHeader::new()
    }
    .to_vec()
    .unwrap();
    let n = capture::MAX_OPEN_FASTCGI + 10;
    let head = [1u8, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for i in 0..n {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(WEB, APP, 64)
            .tcp(10000 + i as u16, 9000, 1, 100)
            .write(&mut f, &head)
            .unwrap();
        bytes.extend(
            LegacyPcapBlock {
                ts_sec: 1,
                ts_usec: i as u32,
                caplen: f.len() as u32,
                origlen: f.len() as u32,
                data: &f,
            }
            .to_vec()
            .unwrap(),
        );
    }
    assert!(matches!(
        capture::file::sniff(&bytes),
        Some(Kind::Pcap { .. })
    ));
    let (text, r) = dump(&bytes, false);
    assert_eq!(r.unwrap().connections, capture::MAX_OPEN_FASTCGI);
    assert!(
        text.contains("note: 10 packets or connections were not followed"),
        "{}",
        text.lines().last().unwrap_or_default()
    );
}

#[test]
fn damaged_captures_never_panic() {
    // The real capture with bytes overwritten, cut or repeated at
    // pseudo-random places (a fixed xorshift seed, so failures replay):
    // every dump ends with an outcome or an error, never a panic.
    let good = std::fs::read(fixture("nginx-php-fpm.pcap")).unwrap();
    let ng = {
        let (h, f) = frames_of(&good);
        to_pcapng(&h, &f, 9)
    };
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..150 {
        let base = if round % 2 == 0 { &good } else { &ng };
        let mut bytes = base.clone();
        for _ in 0..(1 + next() % 8) {
            let at = (next() as usize) % bytes.len();
            match next() % 3 {
                0 => bytes[at] = next() as u8,
                1 => bytes.truncate(at.max(8)),
                _ => {
                    let end = (at + (next() as usize % 64)).min(bytes.len());
                    let piece = bytes[at..end].to_vec();
                    bytes.splice(at..at, piece);
                }
            }
        }
        if let Some(kind) = capture::file::sniff(&bytes) {
            for json in [false, true] {
                let options = Options {
                    render: RenderOptions {
                        format: if json { Format::Json } else { Format::Text },
                        ..RenderOptions::default()
                    },
                    ports: if round % 3 == 0 { vec![] } else { vec![80] },
                };
                let _ = capture::dump(kind, &bytes[..], &options, std::io::sink());
            }
        }
    }
}
