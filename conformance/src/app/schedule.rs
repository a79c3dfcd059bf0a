//! The application suite's scheduler: a model of what the target can take,
//! cases started in spec order, hostile cases alone, and a liveness check
//! after every case that was hostile or did not pass, so that a death is
//! named on the case that caused it and later cases are not judged against
//! a target that no longer serves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fcgi_proto::encoder::Encoder;
use fcgi_proto::management;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::conn::Conn;
use super::ctx::Ctx;
use crate::case::{CaseResult, Outcome, Verdict};
use crate::progress::Observer;
use crate::suites::app::Case;
use crate::suites::{CaseFuture, Kind};
use crate::target::Addr;
use crate::transcript::Transcript;

/// How many connections the probe holds open at most.
const MAX_PROBE_CONNECTIONS: usize = 16;

/// The longest the capacity probe waits for answers on held connections.
const MAX_CAPACITY_WAIT: Duration = Duration::from_secs(1);

/// Connections a case holds open at once, at most (`app/3.3/concurrent-connections`
/// holds one and opens a second): concurrency is capacity divided by this.
const CONNECTIONS_PER_CASE: usize = 2;

/// What the runner learned about how much the target serves at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// Connections the target served at once (at least 1).
    pub connections: usize,
    /// FCGI_MAX_CONNS as the target answered it (§4.1), if it did.
    pub max_conns: Option<u64>,
    /// Cases the runner runs at once: `--jobs` bounded by what the target takes.
    pub jobs: usize,
    /// Why, in words, for the report header.
    pub reason: String,
}

/// Asks GET_VALUES for FCGI_MAX_CONNS on a fresh connection (§4.1).
async fn ask_max_conns(addr: &Addr, timeout: Duration) -> Option<u64> {
    let t = Transcript::new();
    let mut c = Conn::open(addr, timeout, &t, "capacity").await.ok()?;
    let mut b = Vec::new();
    Encoder::default()
        .get_values([management::MAX_CONNS.as_bytes()], &mut b)
        .ok()?;
    c.send(&b).await.ok()?;
    let r = c.next_record().await.ok()?;
    if r.record_type != fcgi_proto::RecordType::GetValuesResult {
        return None;
    }
    let v = fcgi_proto::name_value::find(&r.content, management::MAX_CONNS.as_bytes())?;
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

/// Learns how many connections the target serves at once: FCGI_MAX_CONNS
/// where answered, and what it does: a plain request with FCGI_KEEP_CONN on
/// each of N connections opened together, counting those answered while
/// all are held open. An application that serves one connection at a time
/// answers one. A slow answer counts as not served, which errs towards
/// running fewer cases at once: slower, never wrong.
pub async fn learn_capacity(ctx: &Ctx, jobs: usize) -> Capacity {
    let jobs = jobs.max(1);
    let max_conns = ask_max_conns(&ctx.addr, ctx.timeout).await;
    let want = (jobs * CONNECTIONS_PER_CASE).clamp(2, MAX_PROBE_CONNECTIONS);
    let probe_n = match max_conns {
        Some(m) => want.min(usize::try_from(m).unwrap_or(usize::MAX).max(1)),
        None => want,
    };
    let served = if probe_n <= 1 {
        1
    } else {
        served_at_once(ctx, probe_n).await
    };
    let connections = match max_conns {
        Some(m) => served.min(usize::try_from(m).unwrap_or(usize::MAX)).max(1),
        None => served.max(1),
    };
    let cap_jobs = (connections / CONNECTIONS_PER_CASE).max(1);
    let run_jobs = jobs.min(cap_jobs);
    let mut why = match max_conns {
        Some(m) => format!("FCGI_MAX_CONNS={m}; "),
        None => "FCGI_MAX_CONNS not answered; ".to_string(),
    };
    if probe_n > 1 {
        why.push_str(&format!(
            "{served} of {probe_n} connections opened together were served while all were open"
        ));
    } else {
        why.push_str("no probe of more connections");
    }
    let reason = format!(
        "{connections} connection(s) at once ({why}): {run_jobs} case(s) at a time{}",
        if run_jobs < jobs {
            format!(" (--jobs {jobs})")
        } else {
            String::new()
        }
    );
    Capacity {
        connections,
        max_conns,
        jobs: run_jobs,
        reason,
    }
}

async fn served_at_once(ctx: &Ctx, n: usize) -> usize {
    let t = Transcript::new();
    let mut conns = Vec::new();
    for i in 0..n {
        let Ok(mut c) = Conn::open(&ctx.addr, ctx.timeout, &t, "capacity").await else {
            break;
        };
        let req = ctx.req(1, format!("capacity {i}").as_bytes()).keep(true);
        if c.send(&req.bytes()).await.is_err() {
            break;
        }
        conns.push(c);
    }
    // Every request is sent before any answer is awaited, and every
    // connection stays open until all have been waited for.
    let wait = ctx.timeout.min(MAX_CAPACITY_WAIT);
    let mut set = JoinSet::new();
    for mut c in conns {
        set.spawn(async move {
            let ok = tokio::time::timeout(wait, c.response(1))
                .await
                .is_ok_and(|r| r.is_ok_and(|r| r.end.is_some()));
            (ok, c)
        });
    }
    let mut served = 0;
    let mut held = Vec::new();
    while let Some(j) = set.join_next().await {
        if let Ok((ok, c)) = j {
            served += usize::from(ok);
            held.push(c);
        }
    }
    for mut c in held {
        c.shutdown().await;
    }
    served
}

/// Whether the target still serves a plain request on a fresh connection.
/// A slow but living application gets three tries a second apart; each try
/// is bounded by twice the timeout, so a target that trickles bytes forever
/// cannot hold the check.
pub async fn healthy(ctx: &Ctx) -> Result<(), String> {
    let probe = Ctx {
        transcript: Transcript::new(),
        ..ctx.clone()
    };
    let req = probe.req(1, b"");
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        match tokio::time::timeout(probe.timeout * 2, probe.serve(&req, None)).await {
            Ok(Ok((_, resp))) if resp.end.is_some() => return Ok(()),
            Ok(Ok(_)) => last = "no END_REQUEST".into(),
            Ok(Err(o)) => last = o.actual.unwrap_or(o.detail),
            Err(_) => {
                last = format!(
                    "no complete answer within {:.1}s",
                    (probe.timeout * 2).as_secs_f64()
                )
            }
        }
    }
    Err(format!("{last} (3 tries)"))
}

/// Whoever can bring a target back after it stopped serving: the runner's
/// spawned child, or nobody (a target the runner did not start).
pub trait Keeper {
    /// Finds out why the target stopped serving and brings it back where it
    /// can. Returns what happened, in words, and whether it serves again.
    #[allow(async_fn_in_trait)]
    async fn revive(&mut self, ctx: &Ctx) -> (String, bool);

    /// Whether the target is known to be gone without asking it (a spawned
    /// child that has exited), so that even a passing case is followed by a
    /// liveness check.
    fn gone(&mut self) -> bool {
        false
    }
}

/// A target the runner did not start: it cannot be brought back.
pub struct NoKeeper;

impl Keeper for NoKeeper {
    async fn revive(&mut self, _ctx: &Ctx) -> (String, bool) {
        (String::new(), false)
    }
}

/// Runs one case under the case budget, returning its result.
async fn run_case(
    case_run: fn(Ctx) -> CaseFuture<'static>,
    info: crate::case::CaseInfo,
    ctx: Ctx,
) -> CaseResult {
    let started = Instant::now();
    let transcript = ctx.transcript.clone();
    // A safety net over the per-read timeouts: no case outlives this.
    let limit = ctx.timeout * 20 + Duration::from_secs(5);
    let outcome = match tokio::time::timeout(limit, case_run(ctx)).await {
        Ok(o) => o,
        Err(_) => Outcome::fail(
            format!("the case to finish within {:.1}s", limit.as_secs_f64()),
            "it did not",
        ),
    };
    CaseResult {
        info,
        outcome,
        duration: started.elapsed(),
        transcript: Some(transcript.render()),
    }
}

/// Whether a result calls for a liveness check.
fn suspicious(kind: Kind, r: &CaseResult) -> bool {
    kind == Kind::Hostile || matches!(r.outcome.verdict, Verdict::Fail | Verdict::Warn)
}

/// The outcome of a whole scheduled run.
pub struct Scheduled {
    /// One result per case, in spec order.
    pub results: Vec<CaseResult>,
    /// The case after which the target stopped serving for good, if any.
    pub stopped_after: Option<&'static str>,
}

/// Runs `cases` in spec order: plain cases up to `jobs` at once (started in
/// order), hostile cases alone. After every hostile case and every case that
/// did not pass, the target is checked with a known-good request; if it no
/// longer serves, `keeper` is asked to bring it back (a spawned child is
/// restarted), the death is written into the case that caused it, and
/// without a way back every later case is skipped.
pub async fn run_all(
    cases: Vec<Case>,
    make_ctx: impl Fn() -> Ctx,
    jobs: usize,
    keeper: &mut impl Keeper,
    observer: &Option<Observer>,
) -> Scheduled {
    let jobs = jobs.max(1);
    let sem = Arc::new(Semaphore::new(jobs));
    let mut results: Vec<Option<CaseResult>> = cases.iter().map(|_| None).collect();
    let mut inflight: JoinSet<(usize, CaseResult)> = JoinSet::new();
    let mut stopped_after: Option<&'static str> = None;
    let probe = make_ctx();

    for (index, case) in cases.iter().enumerate() {
        if let Some(killer) = stopped_after {
            results[index] = Some(skipped(case, killer, observer));
            continue;
        }
        if case.kind == Kind::Hostile {
            // Alone: every case before it has finished.
            let drained = drain(&mut inflight).await;
            if let Some(k) = settle(drained, &cases, &mut results, &probe, keeper, observer).await {
                stopped_after = Some(k);
                results[index] = Some(skipped(case, k, observer));
                continue;
            }
            let r = run_case(case.run, case.info.clone(), make_ctx()).await;
            let done = vec![(index, r)];
            stopped_after = settle(done, &cases, &mut results, &probe, keeper, observer).await;
            continue;
        }
        // Plain: started in order as a slot frees up.
        let permit = match sem.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => break,
        };
        let (run, info, ctx) = (case.run, case.info.clone(), make_ctx());
        inflight.spawn(async move {
            let r = run_case(run, info, ctx).await;
            drop(permit);
            (index, r)
        });
        // Collect what has finished; a suspicious result stops the dispatch
        // until everything in flight is back and the target is checked.
        let mut finished = Vec::new();
        while let Some(j) = inflight.try_join_next() {
            if let Ok(x) = j {
                finished.push(x);
            }
        }
        if finished
            .iter()
            .any(|(i, r)| cases.get(*i).is_some_and(|c| suspicious(c.kind, r)))
        {
            finished.extend(drain(&mut inflight).await);
        }
        stopped_after = settle(finished, &cases, &mut results, &probe, keeper, observer).await;
    }
    let drained = drain(&mut inflight).await;
    let last = settle(drained, &cases, &mut results, &probe, keeper, observer).await;
    stopped_after = stopped_after.or(last);
    let results = results
        .into_iter()
        .zip(&cases)
        .map(|(r, c)| r.unwrap_or_else(|| lost(c)))
        .collect();
    Scheduled {
        results,
        stopped_after,
    }
}

async fn drain(set: &mut JoinSet<(usize, CaseResult)>) -> Vec<(usize, CaseResult)> {
    let mut out = Vec::new();
    while let Some(j) = set.join_next().await {
        if let Ok(x) = j {
            out.push(x);
        }
    }
    out
}

/// Records finished results; when one of them calls for it, checks the
/// target. Returns the id of the case the target died after, when it
/// cannot be brought back.
async fn settle(
    mut finished: Vec<(usize, CaseResult)>,
    cases: &[Case],
    results: &mut [Option<CaseResult>],
    probe: &Ctx,
    keeper: &mut impl Keeper,
    observer: &Option<Observer>,
) -> Option<&'static str> {
    finished.sort_by_key(|(i, _)| *i);
    let gone = !finished.is_empty() && keeper.gone();
    let suspects: Vec<usize> = finished
        .iter()
        .filter(|(i, r)| gone || cases.get(*i).is_some_and(|c| suspicious(c.kind, r)))
        .map(|(i, _)| *i)
        .collect();
    let mut stopped = None;
    if !suspects.is_empty() {
        if let Err(why) = healthy(probe).await {
            let (what, back) = keeper.revive(probe).await;
            // Every suspect that ran together is named; alone (hostile, or
            // one case at a time) there is exactly one.
            let together: Vec<&str> = finished
                .iter()
                .filter_map(|(i, _)| cases.get(*i).map(|c| c.info.id))
                .collect();
            for (i, r) in finished.iter_mut() {
                if !suspects.contains(i) {
                    continue;
                }
                let others: Vec<&str> = together
                    .iter()
                    .copied()
                    .filter(|id| *id != r.info.id)
                    .collect();
                let beside = if others.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (it ran beside {}; --jobs 1 names the one case)",
                        others.join(", ")
                    )
                };
                let said = if what.is_empty() {
                    String::new()
                } else {
                    format!("; {what}")
                };
                r.outcome = Outcome::fail(
                    "the application to go on serving after this case",
                    format!(
                        "it stopped serving after this case's records: {why}{said}{beside} (before that: {})",
                        r.outcome.detail
                    ),
                );
            }
            if !back {
                stopped = suspects
                    .first()
                    .and_then(|i| cases.get(*i))
                    .map(|c| c.info.id);
            }
        }
    }
    for (i, r) in finished {
        crate::progress::notify(observer, &r);
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    stopped
}

fn skipped(case: &Case, killer: &str, observer: &Option<Observer>) -> CaseResult {
    let r = CaseResult {
        info: case.info.clone(),
        outcome: Outcome::skip(format!("the target stopped serving after {killer}")),
        duration: Duration::ZERO,
        transcript: None,
    };
    crate::progress::notify(observer, &r);
    r
}

fn lost(case: &Case) -> CaseResult {
    CaseResult {
        info: case.info.clone(),
        outcome: Outcome::fail(
            "the case to report a verdict",
            "its task ended without one (a runner bug)",
        ),
        duration: Duration::ZERO,
        transcript: None,
    }
}
