//! The worked byte examples of the annotated specification (`spec/**/*.md`)
//! checked against the codec, so that the spec cannot drift from the code.
//!
//! An example is a line `Example E-<n>: [<kind>] <description>`, then a
//! fenced block tagged `fcgi-bytes` holding hex bytes, then a line
//! `Decodes to: …` in the spec's shorthand (§3.3). For kind `records` the
//! bytes must frame into records and every body decode (`Dump::is_clean`),
//! and the records must be the ones `Decodes to` lists (type, request id,
//! and the body: a string unless abbreviated, pairs, or the fields of a
//! BEGIN_REQUEST, END_REQUEST or UNKNOWN_TYPE body). For kind `pairs` the
//! bytes are a name-value block (§3.4) that must decode without leftovers
//! to the pairs listed. The dump of every example is kept in one insta
//! snapshot, reviewed like the other wire snapshots: after adding or
//! changing an example, run
//! `INSTA_UPDATE=always cargo test -p fcgi-proto --test spec_examples` and
//! review the diff of `tests/snapshots/spec_examples__spec_examples.snap`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fcgi_proto::dump;
use fcgi_proto::name_value;
use fcgi_proto::record::{Header, RecordType};

/// One worked example as found in the markdown.
#[derive(Debug)]
struct Example {
    file: String,
    line: usize,
    name: String,
    kind: String,
    description: String,
    bytes: Vec<u8>,
    decodes_to: Option<String>,
}

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

#[path = "common/repo.rs"]
mod repo;

/// Markdown files under `dir`, sorted, skipping the generated `book/`.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "book") {
                markdown_files(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

/// Every `fcgi-bytes` block of `text`; a block without its `Example` line
/// is an error, so that no example escapes the check.
fn examples_in(file: &str, text: &str, errors: &mut Vec<String>) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```fcgi-bytes" {
            i += 1;
            continue;
        }
        let open = i;
        let mut hex = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            hex.push_str(lines[i]);
            hex.push(' ');
            i += 1;
        }
        let close = i;
        i += 1;
        let head = open.checked_sub(1).map(|h| lines[h]).unwrap_or("");
        let Some((name, rest)) = head
            .strip_prefix("Example ")
            .and_then(|h| h.split_once(": "))
        else {
            errors.push(format!(
                "{file}:{}: fcgi-bytes block without an `Example E-<n>: [kind] …` line before it",
                open + 1
            ));
            continue;
        };
        let Some((kind, description)) = rest.strip_prefix('[').and_then(|r| r.split_once("] "))
        else {
            errors.push(format!("{file}:{}: {name} has no [kind]", open));
            continue;
        };
        let mut bytes = Vec::new();
        for tok in hex.split_whitespace() {
            match u8::from_str_radix(tok, 16) {
                Ok(b) if tok.len() == 2 => bytes.push(b),
                _ => errors.push(format!(
                    "{file}:{}: {name}: `{tok}` is not a hex byte",
                    open + 1
                )),
            }
        }
        let decodes_to = lines
            .get(close + 1)
            .and_then(|l| l.strip_prefix("Decodes to: "))
            .map(str::to_string);
        out.push(Example {
            file: file.to_string(),
            line: open,
            name: name.to_string(),
            kind: kind.to_string(),
            description: description.to_string(),
            bytes,
            decodes_to,
        });
    }
    out
}

/// The top-level groups `{…}` or `(…)` of a shorthand line, quotes honoured.
fn groups(s: &str, open: char, close: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    let mut in_str = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_str {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' if depth > 0 => {
                in_str = true;
                cur.push(c);
            }
            c if c == open => {
                if depth > 0 {
                    cur.push(c);
                }
                depth += 1;
            }
            c if c == close && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(std::mem::take(&mut cur));
                } else {
                    cur.push(c);
                }
            }
            c if depth > 0 => cur.push(c),
            _ => {}
        }
    }
    out
}

/// A C string literal's bytes (`\r \n \t \\ \" \ooo \xHH`); `None` if it is
/// not one whole literal or is abbreviated with an ellipsis.
fn c_string(s: &str) -> Option<Vec<u8>> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('…') || inner.contains("...") {
        return None;
    }
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let e = *b.get(i + 1)?;
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'\\' | b'"' | b'\'' => out.push(e),
            b'x' => {
                let h = std::str::from_utf8(b.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && b.get(i).is_some_and(|d| (b'0'..=b'7').contains(d)) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Compares the pairs a shorthand lists, `("name", "value") …`, with the
/// pairs of `block`: every name, and every value not abbreviated.
fn check_listed_pairs(what: &str, listed: &str, block: &[u8], errors: &mut Vec<String>) {
    let mut got = Vec::new();
    for p in name_value::pairs(block) {
        match p {
            Ok(p) => got.push(p),
            Err(e) => {
                errors.push(format!("{what}: {e}"));
                return;
            }
        }
    }
    let listed = groups(listed, '(', ')');
    if listed.len() != got.len() {
        errors.push(format!(
            "{what}: lists {} pairs, the bytes hold {}",
            listed.len(),
            got.len()
        ));
        return;
    }
    for (g, (name, value)) in listed.iter().zip(got) {
        let (n, v) = g.split_once(", ").unwrap_or((g, ""));
        if c_string(n).as_deref() != Some(name) {
            errors.push(format!(
                "{what}: pair {n} is named {} in the bytes",
                dump::preview(name, 96)
            ));
        }
        // Values like "aaaa…a" (128 bytes) are abbreviated: only whole literals count.
        if let Some(v) = c_string(v) {
            if v != value {
                errors.push(format!(
                    "{what}: pair {n} has value {} in the bytes",
                    dump::preview(value, 96)
                ));
            }
        }
    }
}

/// Compares a record's body as the shorthand gives it (a string, pairs, or
/// `{…}` for the fixed bodies) with the record's content.
fn check_body(what: &str, t: RecordType, body: &str, content: &[u8], errors: &mut Vec<String>) {
    use fcgi_proto::application::{BeginRequestBody, EndRequestBody};
    use fcgi_proto::management::UnknownTypeBody;
    if body.starts_with('"') {
        // A string: the content, unless abbreviated.
        if let Some(listed) = c_string(body) {
            if listed != content {
                errors.push(format!(
                    "{what}: content is listed as {body}, the bytes hold {}",
                    dump::preview(content, 200)
                ));
            }
        }
        return;
    }
    if body.starts_with('(') {
        check_listed_pairs(what, body, content, errors);
        return;
    }
    let Some(inner) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) else {
        errors.push(format!("{what}: cannot read the body shorthand `{body}`"));
        return;
    };
    let fields: Vec<&str> = inner.split(", ").map(str::trim).collect();
    let ok = match (t, fields.as_slice()) {
        (RecordType::BeginRequest, [role, flags]) => {
            BeginRequestBody::parse(content, 0).is_ok_and(|b| {
                *role == format!("FCGI_{}", b.role.name())
                    && match *flags {
                        "FCGI_KEEP_CONN" => b.flags == 1,
                        n => n.parse::<u8>().ok() == Some(b.flags),
                    }
            })
        }
        (RecordType::EndRequest, [app_status, status]) => EndRequestBody::parse(content, 0)
            .is_ok_and(|b| {
                app_status.parse::<u32>().ok() == Some(b.app_status)
                    && *status == format!("FCGI_{}", b.protocol_status.name())
            }),
        (RecordType::UnknownType, [code]) => UnknownTypeBody::parse(content, 0)
            .is_ok_and(|b| code.parse::<u8>().ok() == Some(b.record_type)),
        _ => {
            errors.push(format!(
                "{what}: no body shorthand `{body}` for {}",
                t.name()
            ));
            return;
        }
    };
    if !ok {
        errors.push(format!(
            "{what}: body is listed as {body}, the bytes say {}",
            dump::preview(content, 64)
        ));
    }
}

/// Checks a `records` example; returns its dump.
fn check_records(ex: &Example, errors: &mut Vec<String>) -> String {
    let d = dump::dump(&ex.bytes);
    if !d.is_clean() {
        errors.push(format!(
            "{}: does not decode cleanly: {}",
            ex.name,
            d.first_error().map_or(String::new(), ToString::to_string)
        ));
    }
    let Some(line) = &ex.decodes_to else {
        errors.push(format!("{}: no `Decodes to:` line", ex.name));
        return d.to_string();
    };
    let listed = groups(line, '{', '}');
    if listed.len() != d.entries.len() {
        errors.push(format!(
            "{}: `Decodes to` lists {} records, the bytes hold {}",
            ex.name,
            listed.len(),
            d.entries.len()
        ));
    }
    for (i, (g, e)) in listed.iter().zip(&d.entries).enumerate() {
        let mut parts = g.splitn(3, ", ");
        let ty = parts.next().unwrap_or("").trim();
        let id = parts.next().unwrap_or("").trim();
        let body = parts.next().unwrap_or("").trim();
        let t = e.record.record_type();
        let type_ok = ty == format!("FCGI_{}", t.name()) && !matches!(t, RecordType::Unknown(_))
            || ty.parse::<u8>().ok() == Some(t.code());
        if !type_ok {
            errors.push(format!(
                "{}: record {i} is listed as {ty}, the bytes say {}",
                ex.name,
                t.name()
            ));
        }
        if id.parse::<u16>().ok() != Some(e.record.request_id()) {
            errors.push(format!(
                "{}: record {i} is listed with id {id}, the bytes say {}",
                ex.name,
                e.record.request_id()
            ));
        }
        check_body(
            &format!("{}: record {i}", ex.name),
            t,
            body,
            e.record.content,
            errors,
        );
    }
    d.to_string()
}

/// Checks a `pairs` example; returns the dump of the block as the content
/// of one PARAMS record (request id 1, no padding).
fn check_pairs(ex: &Example, errors: &mut Vec<String>) -> String {
    match &ex.decodes_to {
        Some(line) => check_listed_pairs(&ex.name, line, &ex.bytes, errors),
        None => errors.push(format!("{}: no `Decodes to:` line", ex.name)),
    }
    let Ok(len) = u16::try_from(ex.bytes.len()) else {
        errors.push(format!("{}: a pairs example over 65535 bytes", ex.name));
        return String::new();
    };
    let mut record = Header::new(RecordType::Params, 1, len, 0)
        .to_bytes()
        .to_vec();
    record.extend_from_slice(&ex.bytes);
    let d = dump::dump(&record);
    if !d.is_clean() {
        errors.push(format!(
            "{}: as PARAMS content it does not dump cleanly",
            ex.name
        ));
    }
    format!("(the block as the content of one PARAMS record)\n{d}")
}

#[test]
fn spec_examples_decode_as_documented() {
    if repo::root().is_none() {
        eprintln!(
            "SKIPPED: spec/ is not part of the packaged crate; this check runs in the repository"
        );
        return;
    }
    let dir = spec_dir();
    let mut files = Vec::new();
    markdown_files(&dir, &mut files);
    let mut errors = Vec::new();
    let mut examples = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        examples.extend(examples_in(&format!("spec/{rel}"), &text, &mut errors));
    }
    if examples.is_empty() && errors.is_empty() {
        // Nothing to check yet: say so loudly rather than pretend.
        println!(
            "NOTE: no `fcgi-bytes` examples under {} ({} markdown files): nothing checked",
            dir.display(),
            files.len()
        );
        return;
    }
    let mut snap = String::new();
    for ex in &examples {
        let text = match ex.kind.as_str() {
            "records" => check_records(ex, &mut errors),
            "pairs" => check_pairs(ex, &mut errors),
            other => {
                errors.push(format!("{}: unknown kind [{other}]", ex.name));
                continue;
            }
        };
        let _ = writeln!(
            snap,
            "{} [{}] {} ({}:{}, {} bytes)\n{}",
            ex.name,
            ex.kind,
            ex.description,
            ex.file,
            ex.line + 1,
            ex.bytes.len(),
            text
        );
    }
    // Names are unique, so that the spec's cross-references are unambiguous.
    let mut names: Vec<&str> = examples.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() != examples.len() {
        errors.push("two examples share a name".to_string());
    }
    assert!(errors.is_empty(), "spec examples:\n{}", errors.join("\n"));
    println!("checked {} spec examples", examples.len());
    // Line numbers move whenever the spec is edited; the snapshot keeps
    // the file name only, so that it changes when an example does.
    let snap: String = snap
        .lines()
        .map(|l| match (l.find(" (spec/"), l.rfind(", ")) {
            (Some(a), Some(b)) if b > a => {
                let loc = &l[a + 2..b];
                let file = loc.rsplit_once(':').map_or(loc, |(f, _)| f);
                format!("{} ({file}{}", &l[..a], &l[b..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("spec_examples", snap);
}

#[test]
fn shorthand_parsing() {
    let g = groups(
        r#"{FCGI_STDOUT, 1, "a{b}\"c"} {12, 0, ""}; stream value = E-5"#,
        '{',
        '}',
    );
    assert_eq!(g, vec![r#"FCGI_STDOUT, 1, "a{b}\"c""#, r#"12, 0, """#]);
    assert_eq!(
        c_string(r#""\013\002SERV\r\n""#).unwrap(),
        b"\x0b\x02SERV\r\n"
    );
    assert_eq!(c_string(r#""a\x41""#).unwrap(), b"aA");
    assert!(c_string(r#""aaaa…a""#).is_none());
    let mut errors = Vec::new();
    let exs = examples_in(
        "t.md",
        "Example E-1: [pairs] one\n```fcgi-bytes\n01 00 41\n```\nDecodes to: (\"A\", \"\")\n\n```fcgi-bytes\n00\n```\n",
        &mut errors,
    );
    assert_eq!(exs.len(), 1);
    assert_eq!(exs[0].bytes, [1, 0, 0x41]);
    assert_eq!(errors.len(), 1, "the unnamed block is reported");

    // A listing that disagrees with its bytes is caught: type, id, content.
    let mut ex = examples_in(
        "t.md",
        "Example E-2: [records] two\n```fcgi-bytes\n01 06 00 01 00 02 06 00 48 69 00 00 00 00 00 00\n```\nDecodes to: {FCGI_STDERR, 2, \"Ho\"}\n",
        &mut errors,
    );
    let mut found = Vec::new();
    check_records(&ex[0], &mut found);
    assert_eq!(found.len(), 3, "{found:?}");
    ex[0].decodes_to = Some(r#"{FCGI_STDOUT, 1, "Hi"}"#.to_string());
    found.clear();
    check_records(&ex[0], &mut found);
    assert!(found.is_empty(), "{found:?}");
}

/// Every requirement ID an error names exists in `spec/requirements.toml`
/// (so a renumbered or removed requirement cannot leave the codec pointing
/// at nothing), and every section is written `§n`, `appendix X` or `limits`.
#[test]
fn error_requirements_exist_in_the_spec() {
    use fcgi_proto::error::{CgiErrorKind, Direction, Limit, PairPart};
    use fcgi_proto::ErrorKind as K;
    let Some(toml) = repo::file("spec/requirements.toml") else {
        return;
    };
    let ids: Vec<&str> = toml
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(ids.len() > 50, "only {} requirement ids read", ids.len());
    let t = RecordType::Stdout;
    let kinds = [
        K::UnsupportedVersion(2),
        K::TruncatedRecord {
            needed: 8,
            available: 1,
        },
        K::TruncatedLength {
            which: PairPart::Name,
        },
        K::PairOverrun {
            which: PairPart::Value,
            declared: 9,
            available: 1,
        },
        K::BadBodyLength {
            record_type: RecordType::BeginRequest,
            actual: 7,
        },
        K::BadBodyLength {
            record_type: RecordType::EndRequest,
            actual: 7,
        },
        K::BadBodyLength {
            record_type: RecordType::UnknownType,
            actual: 7,
        },
        K::ManagementRequestId {
            record_type: RecordType::GetValues,
            request_id: 1,
        },
        K::NullRequestId(t),
        K::WrongDirection {
            record_type: t,
            expected: Direction::ToWebServer,
        },
        K::DuplicateBeginRequest(1),
        K::InactiveRequestId {
            record_type: t,
            request_id: 1,
        },
        K::StreamAfterEnd {
            record_type: RecordType::Params,
            request_id: 1,
        },
        K::StreamAfterEnd {
            record_type: t,
            request_id: 1,
        },
        K::RequestEnded(1),
        K::UnterminatedStream {
            record_type: t,
            request_id: 1,
        },
        K::OutputBeforeParams(1),
        K::LimitExceeded {
            limit: Limit::Pairs,
            max: 1,
        },
        K::Cgi(CgiErrorKind::NoCgiHeader),
    ];
    use fcgi_proto::stream::StreamType;
    use fcgi_proto::UsageKind as U;
    let usage = [
        U::ContentTooLong(70000),
        U::LengthTooLarge(usize::MAX),
        U::ShortFormTooSmall(128),
        U::StreamEnded {
            stream: StreamType::Params,
            request_id: 1,
        },
        U::StreamEnded {
            stream: StreamType::Stdout,
            request_id: 1,
        },
        U::RequestNotActive(1),
        U::RequestActive(1),
        U::OutputBeforeParams(1),
        U::ConnectionClosed,
        U::MalformedQuery,
        U::LimitReached {
            limit: Limit::ConcurrentRequests,
            max: 1,
        },
    ];
    let both = kinds
        .iter()
        .map(|k| (format!("{k:?}"), k.section(), k.requirement()))
        .chain(
            usage
                .iter()
                .map(|k| (format!("{k:?}"), k.section(), k.requirement())),
        );
    let mut named = 0;
    for (k, section, requirement) in both {
        let shown = section.to_string();
        assert!(
            shown.starts_with('§') || shown.starts_with("appendix"),
            "{k}: section {shown}"
        );
        if let Some(r) = requirement {
            let id = r.id();
            assert_eq!(r.section(), section, "{k}: section and requirement agree");
            assert!(
                ids.contains(&id),
                "{k} names {id}, which spec/requirements.toml lacks"
            );
            named += 1;
        }
    }
    assert!(named >= 25, "only {named} errors name a requirement");

    // Fixed bodies and pairs are compared too.
    let begin = [0, 1, 1, 0, 0, 0, 0, 0];
    let end = [0, 0, 3, 0xaa, 0, 0, 0, 0];
    let pairs = [1, 2, b'A', b'x', b'y'];
    let cases: [(RecordType, &str, &[u8], usize); 9] = [
        (
            RecordType::BeginRequest,
            "{FCGI_RESPONDER, FCGI_KEEP_CONN}",
            &begin,
            0,
        ),
        (
            RecordType::BeginRequest,
            "{FCGI_FILTER, FCGI_KEEP_CONN}",
            &begin,
            1,
        ),
        (RecordType::BeginRequest, "{FCGI_RESPONDER, 0}", &begin, 1),
        (
            RecordType::EndRequest,
            "{938, FCGI_REQUEST_COMPLETE}",
            &end,
            0,
        ),
        (RecordType::EndRequest, "{938, FCGI_OVERLOADED}", &end, 1),
        (
            RecordType::UnknownType,
            "{12}",
            &[12, 0, 0, 0, 0, 0, 0, 0],
            0,
        ),
        (RecordType::Params, r#"("A", "xy")"#, &pairs, 0),
        (RecordType::Params, r#"("A", "xz")"#, &pairs, 1),
        (RecordType::Params, r#"("A", "x…")"#, &pairs, 0),
    ];
    for (t, body, content, want) in cases {
        let mut found = Vec::new();
        check_body("case", t, body, content, &mut found);
        assert_eq!(found.len(), want, "{body}: {found:?}");
    }
}
