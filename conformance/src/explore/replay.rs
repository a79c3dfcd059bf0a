//! `fcgi-conformance replay FILE`: runs a conversation file's writes again,
//! split as they were, against a target, and judges the new recording with
//! the same oracle. Where the recording waited for answers (an END_REQUEST
//! before the next request on a connection), the replay waits for as many.
//! The conversation runs up to `--attempts` times, stopping at the first
//! run that shows the file's finding (a finding that depends on how
//! answers fall in time may miss a run).
//! Exit 1 while a finding shows (the file's, or another, which is named),
//! 0 once none does, 2 for a bad file, bad flags or an unusable target.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use fcgi_proto::record::{ParseOptions, RecordType};

use super::plan::{Script, Step};
use super::session::Session;
use super::{check_target, Format, TargetArgs};
use crate::conversation::{Conversation, Dir, Event, Finding, Side};
use crate::output::{usage_error, write_or_fail};

/// Flags of `fcgi-conformance replay`.
#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// The conversation file (fcgi-conversation/1), as `explore` writes under --out.
    pub file: PathBuf,
    /// Runs of the conversation at most: a finding whose show depends on
    /// how the target's answers fall in time may miss one run; the replay
    /// stops at the first run that shows the file's finding.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
    #[command(flatten)]
    pub target: TargetArgs,
    /// For a web-server conversation: where the runner listens for the
    /// server's FastCGI connections (default 127.0.0.1 on a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// For a web-server conversation: the URL the server forwards to the
    /// runner; without it the bundled reference web server.
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
}

/// END_REQUESTs in `bytes`, loosely framed.
fn ends(bytes: &[u8]) -> usize {
    fcgi_proto::record::records_with(bytes, ParseOptions::default().with_strict_version(false))
        .map_while(Result::ok)
        .filter(|r| r.record_type() == RecordType::EndRequest)
        .count()
}

/// The script of a recorded conversation: its writes, with a wait before
/// each write that the recording made after more END_REQUESTs had come.
/// With `sentinel` (the target answers GET_VALUES, as explore's plans then
/// assume), each connection ends with [`Step::Sentinel`] as the run's did,
/// in place of a recorded sentinel write: the run may have seen the
/// target close before it wrote one, and the replay must wait for that
/// close or the answer just the same.
pub fn script(c: &Conversation, sentinel: bool) -> Script {
    c.connections
        .iter()
        .map(|conn| {
            let mut steps = Vec::new();
            let mut got = Vec::new();
            let mut synced = 0;
            for e in &conn.events {
                match e {
                    Event::Write {
                        dir: Dir::FromTarget,
                        hex,
                        ..
                    } => got.extend_from_slice(hex),
                    Event::Write {
                        dir: Dir::ToTarget,
                        hex,
                        ..
                    } => {
                        let n = ends(&got);
                        if n > synced {
                            steps.push(Step::Sync(n));
                            synced = n;
                        }
                        steps.push(Step::Write(hex.clone()));
                    }
                    Event::Close { .. } => {}
                }
            }
            let sent: Vec<u8> = steps
                .iter()
                .filter_map(|s| match s {
                    Step::Write(w) => Some(w.as_slice()),
                    _ => None,
                })
                .flatten()
                .copied()
                .collect();
            // Bytes that do not frame were sent on purpose (--hostile): see how the target takes them.
            if !fcgi_proto::dump::dump(&sent).is_clean() {
                steps.push(Step::Drain);
            } else if sentinel {
                if steps.last() == Some(&Step::Write(super::plan::sentinel())) {
                    steps.pop();
                    if matches!(steps.last(), Some(Step::Sync(_))) {
                        steps.pop();
                    }
                }
                steps.push(Step::Sentinel);
            }
            steps
        })
        .collect()
}

/// Runs `replay`; see the module documentation for exit codes.
pub async fn main(args: ReplayArgs) -> ExitCode {
    let checked = match check_target(&args.target) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let file = match Conversation::read(&args.file) {
        Ok(f) => f,
        Err(e) => {
            return usage_error(&format!(
                "{} {e} (give a file that explore wrote)",
                args.file.display()
            ))
        }
    };
    if file.side == Side::WebServer {
        return server_replay(&args, &file).await;
    }
    if args.listen.is_some() || args.http.is_some() {
        return usage_error(&format!(
            "{}: a conversation with an application: give --connect or --spawn, not --listen or --http",
            args.file.display()
        ));
    }
    let mut session =
        match Session::open(checked.target, checked.timeout, checked.fixed, false).await {
            Ok(s) => s,
            Err(e) => return usage_error(&e),
        };
    let plan = script(&file, session.profile.get_values);
    let tries = attempts(args.attempts, file.finding.as_ref(), async || {
        session.attempt(&plan).await.1
    })
    .await;
    session.close().await;
    let Tries {
        found, runs, same, ..
    } = &tries;
    let text = match args.target.format {
        Format::Json => tries.json(&args.file, file.finding.as_ref(), None),
        Format::Text => match (found, same) {
            (Some(f), true) => format!(
                "replay {}: reproduces {} {} §{} (run {runs} of at most {})\n  expected: {}\n  observed: {}\n",
                args.file.display(),
                f.property,
                f.requirement,
                f.section,
                args.attempts,
                f.expected,
                f.observed
            ),
            (Some(f), false) => format!(
                "replay {}: a different finding, {} {} §{}\n  expected: {}\n  observed: {}\n",
                args.file.display(),
                f.property,
                f.requirement,
                f.section,
                f.expected,
                f.observed
            ),
            (None, _) => format!(
                "replay {}: does not reproduce (no property fails in {runs} run(s))\n",
                args.file.display()
            ),
        },
    };
    let code = if found.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    write_or_fail(&text, code)
}

/// `replay` of a web-server conversation: the recorded answer (the `fcgi`
/// connection's writes) given again to a GET, under the id the server
/// chooses, and the response judged by the same oracle.
async fn server_replay(args: &ReplayArgs, file: &Conversation) -> ExitCode {
    let t = &args.target;
    if t.connect.is_some() || t.spawn.is_some() {
        return usage_error(&format!(
            "{}: a conversation with a web server: give --http URL and --listen ADDR, not --connect or --spawn",
            args.file.display()
        ));
    }
    let writes = super::server::answer_of(file);
    if writes.is_empty() {
        return usage_error(&format!(
            "{}: no recorded answer (connection fcgi) to replay (give a file that explore --side server wrote)",
            args.file.display()
        ));
    }
    let mut session = match super::open_server_session(
        args.http.as_deref(),
        args.listen.as_deref(),
        t.timeout,
        crate::client::Faults::default(),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let tries = attempts(args.attempts, file.finding.as_ref(), async || {
        session
            .0
            .attempt_with(|id| super::server::with_id(&writes, id))
            .await
            .1
    })
    .await;
    if let Some(r) = session.1 {
        r.stop(std::time::Duration::from_secs(1)).await;
    }
    let Tries {
        found, runs, same, ..
    } = &tries;
    let text = match t.format {
        Format::Json => tries.json(&args.file, file.finding.as_ref(), Some("web-server")),
        Format::Text => match &found {
            Some(f) => format!(
                "replay {}: {} {} {} §{} (run {runs} of at most {})\n  expected: {}\n  observed: {}\n",
                args.file.display(),
                if *same { "reproduces" } else { "a different finding," },
                f.property,
                f.requirement,
                f.section,
                args.attempts,
                f.expected,
                f.observed
            ),
            None => format!(
                "replay {}: does not reproduce (no property fails in {runs} run(s))\n",
                args.file.display()
            ),
        },
    };
    let code = if found.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    write_or_fail(&text, code)
}

/// What the runs of a replay came to.
struct Tries {
    /// The finding shown: the first run's that matches the file's, else
    /// the first finding of any kind.
    found: Option<Finding>,
    /// Runs made.
    runs: u32,
    /// Runs that showed a finding of any kind.
    showed: u32,
    /// Whether `found` is the file's own finding (same property and requirement).
    same: bool,
}

impl Tries {
    /// The replay's JSON (`fcgi-conformance-replay/1`); `side` is given
    /// for a web-server conversation.
    fn json(
        &self,
        file: &std::path::Path,
        recorded: Option<&Finding>,
        side: Option<&str>,
    ) -> String {
        let mut v = serde_json::json!({
            "schema": "fcgi-conformance-replay/1",
            "file": file.display().to_string(),
            "recorded": recorded,
            "found": self.found,
            "reproduces": self.same,
            "runs": self.runs,
            "runs_with_a_finding": self.showed,
        });
        if let (Some(side), Some(m)) = (side, v.as_object_mut()) {
            m.insert("side".into(), side.into());
        }
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Runs `attempt` up to `attempts` times, stopping at the first run that
/// shows the recorded finding (same property and requirement): a finding
/// that depends on how the target's answers fall in time may miss a run.
async fn attempts(
    attempts: u32,
    recorded: Option<&Finding>,
    mut attempt: impl AsyncFnMut() -> Option<Finding>,
) -> Tries {
    let is_same = |f: &Finding| {
        recorded.is_some_and(|b| f.property == b.property && f.requirement == b.requirement)
    };
    let (mut found, mut runs, mut showed) = (None, 0u32, 0u32);
    while runs < attempts {
        runs += 1;
        let f = attempt().await;
        if f.is_some() {
            showed += 1;
        }
        let hit = f.as_ref().is_some_and(is_same);
        if found.is_none() || hit {
            found = f.or(found);
        }
        if hit {
            break;
        }
    }
    let same = found.as_ref().is_some_and(is_same);
    Tries {
        found,
        runs,
        showed,
        same,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Recorder;

    fn recorded(close_before_sentinel: bool) -> Conversation {
        let enc = fcgi_proto::encoder::Encoder::default();
        let mut req = Vec::new();
        let _ = enc.begin_request(1, fcgi_proto::role::Role::Responder, true, &mut req);
        let mut end = Vec::new();
        let _ = enc.end_request(
            1,
            0,
            fcgi_proto::application::ProtocolStatus::RequestComplete,
            &mut end,
        );
        let mut r = Recorder::new("c1".into(), std::time::Instant::now());
        r.write(Dir::ToTarget, &req);
        r.write(Dir::FromTarget, &end);
        if close_before_sentinel {
            r.close(Dir::FromTarget);
        } else {
            r.write(Dir::ToTarget, &super::super::plan::sentinel());
            r.close(Dir::ToTarget);
        }
        let mut c = Conversation::new(Some(1), Side::Application, "t");
        c.connections.push(r.finish());
        c
    }

    /// The replay ends each connection as the run did, whether or not the
    /// recorded run got to write its sentinel before the target closed.
    #[test]
    fn a_replay_ends_with_the_sentinel_either_way() {
        for close_first in [true, false] {
            let s = script(&recorded(close_first), true);
            assert_eq!(s.len(), 1);
            assert!(
                matches!(s[0].as_slice(), [Step::Write(_), Step::Sentinel]),
                "{s:?}"
            );
            let s = script(&recorded(close_first), false);
            assert_ne!(s[0].last(), Some(&Step::Sentinel), "{s:?}");
        }
    }
}
