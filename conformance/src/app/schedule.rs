//! The application suite's scheduler: a model of what the target can take,
//! cases started in spec order, hostile cases alone, and a liveness check
//! after every case that was hostile or did not pass, so that a death is
//! named on the case that caused it and later cases are not judged against
//! a target that no longer serves.

use std::time::{Duration, Instant};

use fcgi_proto::encoder::Encoder;
use fcgi_proto::management;
use tokio::task::JoinSet;

use super::conn::Conn;
use super::ctx::Ctx;
use crate::case::{CaseResult, Outcome, Verdict};
use crate::progress::Observer;
use crate::suites::app::Case;
use crate::suites::Kind;
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

/// Runs one case under the case budget ([`crate::bounds::case_budget`]),
/// returning its result. The case's reads stop at
/// [`crate::bounds::read_deadline`], so the case itself reports a peer
/// that keeps it busy; the budget is the safety net.
async fn run_case(case: &Case, mut ctx: Ctx) -> CaseResult {
    let started = Instant::now();
    let transcript = ctx.transcript.clone();
    let t0 = tokio::time::Instant::now();
    let limit = crate::bounds::case_budget(ctx.timeout);
    ctx.deadline = Some(crate::bounds::read_deadline(t0, ctx.timeout));
    let outcome = match tokio::time::timeout_at(t0 + limit, (case.run)(ctx)).await {
        Ok(o) => o,
        Err(_) => Outcome::fail(
            format!("the case to finish within {:.1} s", limit.as_secs_f64()),
            "it did not (every read stops at the case's deadline: a runner bug or a very slow step)",
        ),
    };
    CaseResult {
        info: case.info.clone(),
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
/// order, each one's result settled before a case that needs its slot
/// starts), off-path and hostile cases alone. After every hostile case and every case
/// that did not pass (and after every case, when the keeper knows the
/// target is gone), the target is checked with a known-good request. If it
/// no longer serves, the death is written into the case that caused it;
/// `keeper` brings it back where it can (a spawned child is restarted, and
/// the case and the one before it are replayed alone to find which one
/// stops it); without a way back every later case is skipped.
pub async fn run_all<K: Keeper>(
    cases: Vec<Case>,
    make_ctx: impl Fn() -> Ctx,
    jobs: usize,
    keeper: &mut K,
    observer: &Option<Observer>,
) -> Scheduled {
    let jobs = jobs.max(1);
    let mut s = Scheduler {
        results: cases.iter().map(|_| None).collect(),
        cases: &cases,
        make_ctx: &make_ctx,
        probe: make_ctx(),
        keeper,
        observer,
        last_settled: None,
        stopped_after: None,
    };
    let mut inflight: JoinSet<(usize, CaseResult)> = JoinSet::new();
    for (index, case) in cases.iter().enumerate() {
        if let Some(killer) = s.stopped_after {
            let r = skipped(case, killer);
            crate::progress::notify(observer, &r);
            s.results[index] = Some(r);
            continue;
        }
        // Wait for a slot, or for everything when this case runs alone.
        let alone = case.kind != Kind::Plain;
        let room = if alone { 0 } else { jobs - 1 };
        let mut finished = Vec::new();
        while inflight.len() > room {
            match inflight.join_next().await {
                Some(Ok(x)) => finished.push(x),
                Some(Err(_)) => {}
                None => break,
            }
        }
        while let Some(j) = inflight.try_join_next() {
            if let Ok(x) = j {
                finished.push(x);
            }
        }
        // A suspicious result stops the dispatch until everything in flight
        // is back and the target is checked.
        if finished
            .iter()
            .any(|(i, r)| cases.get(*i).is_some_and(|c| suspicious(c.kind, r)))
        {
            finished.extend(drain(&mut inflight).await);
        }
        s.settle(finished).await;
        if let Some(killer) = s.stopped_after {
            let r = skipped(case, killer);
            crate::progress::notify(observer, &r);
            s.results[index] = Some(r);
            continue;
        }
        if alone {
            let r = run_case(case, make_ctx()).await;
            s.settle(vec![(index, r)]).await;
        } else {
            let (case, ctx) = (case.clone(), make_ctx());
            inflight.spawn(async move { (index, run_case(&case, ctx).await) });
        }
    }
    let drained = drain(&mut inflight).await;
    s.settle(drained).await;
    let stopped_after = s.stopped_after;
    let results = s
        .results
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

/// The state of one scheduled run.
struct Scheduler<'a, K> {
    cases: &'a [Case],
    results: Vec<Option<CaseResult>>,
    make_ctx: &'a dyn Fn() -> Ctx,
    probe: Ctx,
    keeper: &'a mut K,
    /// Told of each case once, when its result is first recorded.
    observer: &'a Option<Observer>,
    /// The case settled last, for replays.
    last_settled: Option<usize>,
    stopped_after: Option<&'static str>,
}

impl<K: Keeper> Scheduler<'_, K> {
    fn id(&self, i: usize) -> &'static str {
        self.cases.get(i).map_or("?", |c| c.info.id)
    }

    /// Whether the target still serves: `Err` says why not.
    async fn alive(&mut self, suspicious: bool) -> Result<(), String> {
        if self.keeper.gone() {
            // A child known to have exited needs no knocking on its door.
            return Err("the application process exited".into());
        }
        if !suspicious {
            return Ok(());
        }
        healthy(&self.probe).await
    }

    /// After a replay: did this case stop the target? A short grace lets a
    /// child that dies on the case's last records be seen dead.
    async fn stopped_by_replay(&mut self) -> Option<String> {
        let grace = self.probe.timeout.min(Duration::from_secs(1));
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.keeper.gone() {
                return Some("the application process exited".into());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.alive(true).await.err()
    }

    /// Records finished results. When one of them calls for it, checks the
    /// target and, if it no longer serves, names the case that stopped it.
    async fn settle(&mut self, mut finished: Vec<(usize, CaseResult)>) {
        if finished.is_empty() {
            return;
        }
        finished.sort_by_key(|(i, _)| *i);
        let cases = self.cases;
        let any_suspicious = finished
            .iter()
            .any(|(i, r)| cases.get(*i).is_some_and(|c| suspicious(c.kind, r)));
        if let Err(why) = self.alive(any_suspicious).await {
            let (what, back) = self.keeper.revive(&self.probe).await;
            let why = if what.is_empty() {
                why
            } else {
                format!("{why}; {what}")
            };
            if back && finished.len() == 1 {
                self.replay(finished, why).await;
                return;
            }
            self.blame(&mut finished, &why);
            if !back {
                self.stopped_after = finished.first().map(|(i, _)| self.id(*i));
            }
        }
        self.record(finished);
    }

    fn record(&mut self, finished: Vec<(usize, CaseResult)>) {
        for (i, r) in finished {
            self.last_settled = Some(i);
            if let Some(slot) = self.results.get_mut(i) {
                if slot.is_none() {
                    crate::progress::notify(self.observer, &r);
                }
                *slot = Some(r);
            }
        }
    }

    /// Writes the death into every finished case: one alone is named; cases
    /// that ran at once cannot be told apart, and each says so.
    fn blame(&self, finished: &mut [(usize, CaseResult)], why: &str) {
        let together: Vec<&str> = finished.iter().map(|(i, _)| self.id(*i)).collect();
        for (_, r) in finished.iter_mut() {
            let others: Vec<&str> = together
                .iter()
                .copied()
                .filter(|id| *id != r.info.id)
                .collect();
            let actual = if others.is_empty() {
                format!("it stopped serving after this case's records: {why}")
            } else {
                format!(
                    "it stopped serving while this case ran beside {} ({why}; with --jobs 1 the one case is named)",
                    others.join(", ")
                )
            };
            died(r, &actual);
        }
    }

    /// A case run alone met a dead target and the keeper brought it back:
    /// the case is replayed alone, and if it does not stop the target
    /// again, the case before it is, so that the death is named on the case
    /// that causes it whichever of the two noticed it first.
    async fn replay(&mut self, finished: Vec<(usize, CaseResult)>, why: String) {
        let mut finished = finished;
        let Some((index, first)) = finished.pop() else {
            return;
        };
        let Some(case) = self.cases.get(index) else {
            return;
        };
        let again = run_case(case, (self.make_ctx)()).await;
        if let Some(why2) = self.stopped_by_replay().await {
            let (what, back) = self.keeper.revive(&self.probe).await;
            let mut r = again;
            died(
                &mut r,
                &format!(
                    "it stopped serving after this case's records, twice (run again alone after a restart): {why}; then {why2}; {what}"
                ),
            );
            if !back {
                self.stopped_after = Some(case.info.id);
            }
            self.record(vec![(index, r)]);
            return;
        }
        // The case itself does not stop the target: try the one before.
        let before = self.last_settled.filter(|b| *b != index);
        if let Some(b) = before {
            if let Some(prev) = self.cases.get(b) {
                let prev_again = run_case(prev, (self.make_ctx)()).await;
                if let Some(why2) = self.stopped_by_replay().await {
                    let (what, back) = self.keeper.revive(&self.probe).await;
                    let mut r = prev_again;
                    died(
                        &mut r,
                        &format!(
                            "it stopped serving after this case's records: seen first by {} ({why}); this case run again alone after a restart stopped it again ({why2}; {what})",
                            case.info.id
                        ),
                    );
                    if !back {
                        self.stopped_after = Some(prev.info.id);
                    }
                    let mut noted = again;
                    noted.outcome.detail = format!(
                        "{} (run again after a restart: on its first run the application had just been stopped by {})",
                        noted.outcome.detail, prev.info.id
                    );
                    self.record(vec![(b, r)]);
                    self.record(vec![(index, noted)]);
                    return;
                }
            }
        }
        // Neither stops it again: keep the first run's failure, say so.
        let mut r = first;
        died(
            &mut r,
            &format!(
                "it stopped serving after this case's records: {why} (run again alone after a restart, neither this case nor the one before it stopped it again)"
            ),
        );
        self.record(vec![(index, r)]);
    }
}

/// Turns a result into the failure of a case that stopped the target.
fn died(r: &mut CaseResult, actual: &str) {
    r.outcome = Outcome::fail(
        "the application to go on serving after this case",
        format!("{actual} (before that: {})", r.outcome.detail),
    );
}

fn skipped(case: &Case, killer: &str) -> CaseResult {
    CaseResult {
        info: case.info.clone(),
        outcome: Outcome::skip(crate::case::stopped_detail(killer)),
        duration: Duration::ZERO,
        transcript: None,
    }
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
