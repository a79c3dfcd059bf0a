//! The opening check of the app suite, before any case runs: the target
//! must answer a plain request with FastCGI records within two timeouts.
//! A refused connection, a listener that never speaks, an HTTP server, or a
//! spawned child that exits or stays mute is an unusable target (exit 2),
//! said in one line. A FastCGI application that answers badly passes: the
//! cases judge it. One connection at a time, since some applications serve
//! no more.
//!
//! It reads the socket itself, not through [`crate::driver`]: what it
//! judges is the first bytes, which may not be FastCGI at all (an HTTP
//! status line, an HTML page), while the driver's reader hands its bytes to
//! a decoder that stops at the first one that cannot start a record; the
//! check would need a tap to see what came, and would use nothing else of
//! the driver.

use std::time::Duration;

use fcgi_proto::record::{HEADER_LEN, MAX_RECORD_LEN, VERSION_1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::spawn::{Child, ExitDesc};
use crate::target::{connect, Addr};

/// What the first connection showed, when it showed no FastCGI record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// No connection could be made.
    Unreachable(String),
    /// Connected, sent the request, nothing came back in time.
    Silent,
    /// Closed without sending a byte.
    Closed,
    /// The first bytes cannot start a FastCGI record.
    NotFastCgi(Vec<u8>),
    /// Less than a record, then nothing.
    Short(Vec<u8>),
    /// A socket error before any byte.
    Broken(String),
}

/// How far the bytes so far frame a FastCGI record.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    /// A whole record with a type of §8.
    Record,
    /// Not FastCGI: a zero version byte or a type outside 1 to 11.
    Not,
    /// Consistent so far; more bytes needed.
    More,
}

/// Frames the first record. The type byte tells FastCGI from text (an
/// HTTP or HTML answer has a letter or `!` there). A version other than 1
/// in a whole record is still a FastCGI peer, a faulty one that
/// `app/3.3/version` judges.
fn framing(b: &[u8]) -> Framing {
    match (b.first(), b.get(1)) {
        (Some(0), _) => return Framing::Not,
        (_, Some(t)) if !(1..=11).contains(t) => return Framing::Not,
        _ => {}
    }
    let (Some(hi), Some(lo), Some(pad)) = (b.get(4), b.get(5), b.get(6)) else {
        return Framing::More;
    };
    let total = HEADER_LEN + usize::from(u16::from_be_bytes([*hi, *lo])) + usize::from(*pad);
    if b.len() >= total {
        Framing::Record
    } else {
        Framing::More
    }
}

/// Sends `request` on one connection and waits, until `deadline`, for the
/// first FastCGI record. A valid header whose content is still arriving at
/// the deadline also counts: a slow FastCGI peer is for the cases to judge.
async fn first_record(
    addr: &Addr,
    deadline: Instant,
    request: &[u8],
    retry_connect: bool,
) -> Result<(), Seen> {
    let mut stream = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match connect(addr, left.max(Duration::from_millis(1))).await {
            Ok(s) => break s,
            Err(e) if retry_connect && Instant::now() + Duration::from_millis(100) < deadline => {
                // A spawned child may still be starting.
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(Seen::Unreachable(e.to_string())),
        }
    };
    // A failed send is not decisive: the peer may have answered and closed.
    let _ = tokio::time::timeout_at(deadline, stream.write_all(request)).await;
    let mut got: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let mut closed = false;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => break,
            Ok(Ok(0)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                got.extend_from_slice(chunk.get(..n).unwrap_or_default());
                match framing(&got) {
                    Framing::Record => return Ok(()),
                    Framing::Not => return Err(Seen::NotFastCgi(got)),
                    // A record is at most MAX_RECORD_LEN, so `got` stays below it plus a chunk.
                    Framing::More if got.len() < MAX_RECORD_LEN => {}
                    Framing::More => return Ok(()),
                }
            }
            Ok(Err(e)) if got.is_empty() => return Err(Seen::Broken(e.to_string())),
            Ok(Err(_)) => break,
        }
    }
    match got.len() {
        0 if closed => Err(Seen::Closed),
        0 => Err(Seen::Silent),
        n if n >= HEADER_LEN && got.first() == Some(&VERSION_1) => Ok(()),
        n if n >= HEADER_LEN => Err(Seen::NotFastCgi(got)),
        _ => Err(Seen::Short(got)),
    }
}

/// The first line of an HTTP answer, for the message.
fn status_line(b: &[u8]) -> String {
    let end = b
        .iter()
        .position(|c| *c == b'\r' || *c == b'\n')
        .unwrap_or(b.len())
        .min(60);
    String::from_utf8_lossy(b.get(..end).unwrap_or(b)).into_owned()
}

/// Whether the bytes open an HTML document (an HTTP/0.9-style error page).
fn looks_like_html(b: &[u8]) -> bool {
    let start: Vec<u8> = b
        .iter()
        .skip_while(|c| c.is_ascii_whitespace())
        .take(9)
        .map(u8::to_ascii_lowercase)
        .collect();
    start.starts_with(b"<!doctype") || start.starts_with(b"<html")
}

/// One line saying what was seen at `who` (e.g. "the application at 127.0.0.1:9000").
fn describe(seen: &Seen, who: &str, budget: Duration) -> String {
    let secs = budget.as_secs_f64();
    match seen {
        Seen::Unreachable(e) => {
            format!("cannot reach {who}: {e} (start it, or check --connect / --spawn)")
        }
        Seen::Silent => format!(
            "{who} accepted the connection but answered nothing within {secs:.1}s: \
             not a FastCGI application, or not serving (check the address, or raise --timeout)"
        ),
        Seen::Closed => format!(
            "{who} closed the connection without answering: not a FastCGI application, \
             or one that refuses the runner (FCGI_WEB_SERVER_ADDRS?)"
        ),
        Seen::NotFastCgi(b) if b.starts_with(b"HTTP/") => format!(
            "the first bytes from {who} are `{}`: this is an HTTP server, not a FastCGI application",
            status_line(b)
        ),
        Seen::NotFastCgi(b) if looks_like_html(b) => format!(
            "the first bytes from {who} are {}: an HTML page, so an HTTP server, not a FastCGI application",
            fcgi_proto::dump::preview(b, 24)
        ),
        Seen::NotFastCgi(b) => format!(
            "the first bytes from {who} are {}: not FastCGI records (a record starts with a \
             version byte and a type from 1 to 11): is this a FastCGI application?",
            fcgi_proto::dump::preview(b, 24)
        ),
        Seen::Short(b) => format!(
            "{who} sent {} ({} bytes) and then nothing within {secs:.1}s: less than a FastCGI record header",
            fcgi_proto::dump::preview(b, 24),
            b.len()
        ),
        Seen::Broken(e) => format!("the connection to {who} failed before any answer: {e}"),
    }
}

fn exited(exit: &ExitDesc, child: &Child) -> String {
    format!(
        "the application {exit} before serving: {}",
        child.output_line()
    )
}

/// Checks that the target at `addr` answers `request` with a FastCGI
/// record within `2 * timeout`; `child` is the spawned application, whose
/// exit ends the wait at once. `Err` is the one-line reason for exit 2.
pub async fn check(
    addr: &Addr,
    timeout: Duration,
    request: &[u8],
    child: Option<&mut Child>,
) -> Result<(), String> {
    let budget = timeout.saturating_mul(2);
    let deadline = Instant::now() + budget;
    let attempt = first_record(addr, deadline, request, child.is_some());
    tokio::pin!(attempt);
    let Some(child) = child else {
        return attempt
            .await
            .map_err(|s| describe(&s, &format!("the application at {addr}"), budget));
    };
    let seen = tokio::select! {
        biased;
        r = &mut attempt => r,
        e = child.exited() => return Err(exited(&e, child)),
    };
    let Err(seen) = seen else {
        return Ok(());
    };
    // A connection closed by a child that is dying: say it died. A silent
    // one has had its whole budget already.
    let grace = if seen == Seen::Silent {
        Duration::ZERO
    } else {
        Duration::from_millis(200)
    };
    if let Some(e) = child.exited_within(grace).await {
        return Err(exited(&e, child));
    }
    let out = child.output_line();
    Err(match seen {
        Seen::Silent => format!(
            "the spawned application is running but answered nothing within {:.1}s \
             (does it accept on descriptor 0, FCGI_LISTENSOCK_FILENO, as §2.2 says?): {out}",
            budget.as_secs_f64()
        ),
        other => format!(
            "{} (it is still running: {out})",
            describe(&other, "the spawned application", budget)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn framing_tells_records_from_other_bytes() {
        let end = [1u8, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(framing(&end), Framing::Record);
        assert_eq!(framing(end.get(..9).unwrap_or_default()), Framing::More);
        assert_eq!(framing(&[1]), Framing::More);
        assert_eq!(framing(b"HTTP/1.1 400 Bad Request\r\n"), Framing::Not);
        assert_eq!(framing(&[1, 0]), Framing::Not);
        assert_eq!(framing(&[0, 6]), Framing::Not);
        // Version 2: FastCGI-shaped, for the cases to judge.
        assert_eq!(framing(&[2, 6, 0, 1, 0, 0, 0, 0]), Framing::Record);
        assert_eq!(framing(&[1, 12, 0, 0, 0, 0, 0, 0]), Framing::Not);
        // Padding counts: 8 + 0 content + 4 padding.
        assert_eq!(framing(&[1, 6, 0, 1, 0, 0, 4, 0, 0, 0, 0]), Framing::More);
    }

    #[test]
    fn an_http_answer_is_named() {
        let m = describe(
            &Seen::NotFastCgi(b"HTTP/1.0 400 Bad request version\r\nServer: x\r\n".to_vec()),
            "the application at 127.0.0.1:1",
            Duration::from_secs(2),
        );
        assert!(
            m.contains("are `HTTP/1.0 400 Bad request version`: this is an HTTP server"),
            "{m}"
        );
        let m = describe(
            &Seen::NotFastCgi(b"\n<!DOCTYPE HTML>\n<html lang=\"en\">".to_vec()),
            "the application at 127.0.0.1:1",
            Duration::from_secs(2),
        );
        assert!(m.contains("an HTML page, so an HTTP server"), "{m}");
    }

    /// A loopback listener whose connections get `answer` and are then held open.
    async fn peer(answer: &'static [u8]) -> Addr {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = Addr::Tcp(l.local_addr().unwrap_or_else(|e| panic!("{e}")));
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut s, _)) = l.accept().await {
                let _ = s.write_all(answer).await;
                held.push(s);
            }
        });
        addr
    }

    #[tokio::test]
    async fn each_non_fastcgi_peer_is_refused_within_two_timeouts() {
        let t = Duration::from_millis(300);
        let mute = peer(b"").await;
        let http = peer(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        let short = peer(&[1, 6]).await;
        let fcgi = peer(&[1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff]).await;
        for (addr, want) in [
            (&mute, Some("answered nothing within 0.6s")),
            (
                &http,
                Some("`HTTP/1.1 400 Bad Request`: this is an HTTP server"),
            ),
            (&short, Some("less than a FastCGI record header")),
            (&fcgi, None),
        ] {
            let t0 = std::time::Instant::now();
            let r = check(addr, t, b"request", None).await;
            assert!(t0.elapsed() < t * 2 + Duration::from_millis(500));
            match want {
                Some(w) => assert!(r.as_ref().is_err_and(|e| e.contains(w)), "{r:?}"),
                None => assert_eq!(r, Ok(())),
            }
        }
        // Nothing listening: refused at once.
        let gone = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
            Addr::Tcp(l.local_addr().unwrap_or_else(|e| panic!("{e}")))
        };
        let r = check(&gone, t, b"request", None).await;
        assert!(r.is_err_and(|e| e.starts_with("cannot reach")));
    }
}
