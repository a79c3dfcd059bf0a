//! One scheduler for both suites: cases started in spec order, as many at
//! once as the target takes, off-path and hostile cases alone, and a
//! liveness check after every case that was hostile or did not pass, so
//! that a death is named on the case that caused it and later cases are
//! not judged against a target that no longer serves. What a suite runs
//! and how it checks its target is its [`Runner`].

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::case::{CaseResult, Outcome, Verdict};
use crate::progress::Observer;
use crate::suites::Kind;

/// A case as the scheduler sees it: its description and kind, and the
/// suite's body type.
pub type Case<R> = crate::suites::Case<<R as Runner>::Run>;

/// What a suite gives the scheduler: how to run one of its cases and how
/// to check that its target still serves.
pub trait Runner {
    /// The body type of the suite's cases.
    type Run: Clone + Send + Sync + 'static;
    /// What a [`Keeper`] is handed to check a target it brought back.
    type Probe;
    /// Who the target is, in a failed liveness check's expectation
    /// ("the application to go on serving after this case").
    const TARGET: &'static str;
    /// How a failed liveness check after one case begins.
    const STOPPED: &'static str;

    /// One case's run, owning what it needs, bounded by the case budget.
    fn run(&self, case: &Case<Self>) -> impl Future<Output = CaseResult> + Send + 'static;

    /// Whether the target still serves a known-good request: `Err` says why not.
    #[allow(async_fn_in_trait)]
    async fn healthy(&self) -> Result<(), String>;

    /// What a keeper checks the target with.
    fn probe(&self) -> &Self::Probe;

    /// The run's `--timeout`.
    fn timeout(&self) -> Duration;
}

/// Whoever can bring a target back after it stopped serving: the runner's
/// spawned child, or nobody (a target the runner did not start).
pub trait Keeper<P> {
    /// Finds out why the target stopped serving and brings it back where it
    /// can. Returns what happened, in words, and whether it serves again.
    #[allow(async_fn_in_trait)]
    async fn revive(&mut self, probe: &P) -> (String, bool);

    /// Whether the target is known to be gone without asking it (a spawned
    /// child that has exited), so that even a passing case is followed by a
    /// liveness check.
    fn gone(&mut self) -> bool {
        false
    }
}

/// A target the runner did not start: it cannot be brought back.
pub struct NoKeeper;

impl<P> Keeper<P> for NoKeeper {
    async fn revive(&mut self, _probe: &P) -> (String, bool) {
        (String::new(), false)
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
pub async fn run_all<R: Runner, K: Keeper<R::Probe>>(
    cases: Vec<Case<R>>,
    runner: &R,
    jobs: usize,
    keeper: &mut K,
    observer: &Option<Observer>,
) -> Scheduled {
    let jobs = jobs.max(1);
    let mut s = Scheduler {
        results: cases.iter().map(|_| None).collect(),
        cases: &cases,
        runner,
        keeper,
        observer,
        last_settled: None,
        stopped_after: None,
    };
    let mut inflight: JoinSet<(usize, CaseResult)> = JoinSet::new();
    for (index, case) in cases.iter().enumerate() {
        if let Some(killer) = s.stopped_after {
            let r = skipped::<R>(case, killer);
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
            let r = skipped::<R>(case, killer);
            crate::progress::notify(observer, &r);
            s.results[index] = Some(r);
            continue;
        }
        if alone {
            let r = runner.run(case).await;
            s.settle(vec![(index, r)]).await;
        } else {
            let run = runner.run(case);
            inflight.spawn(async move { (index, run.await) });
        }
    }
    let drained = drain(&mut inflight).await;
    s.settle(drained).await;
    let stopped_after = s.stopped_after;
    let results = s
        .results
        .into_iter()
        .zip(&cases)
        .map(|(r, c)| r.unwrap_or_else(|| lost::<R>(c)))
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
struct Scheduler<'a, R: Runner, K> {
    cases: &'a [Case<R>],
    results: Vec<Option<CaseResult>>,
    runner: &'a R,
    keeper: &'a mut K,
    /// Told of each case once, when its result is first recorded.
    observer: &'a Option<Observer>,
    /// The case settled last, for replays.
    last_settled: Option<usize>,
    stopped_after: Option<&'static str>,
}

impl<R: Runner, K: Keeper<R::Probe>> Scheduler<'_, R, K> {
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
        self.runner.healthy().await
    }

    /// After a replay: did this case stop the target? A short grace lets a
    /// child that dies on the case's last records be seen dead.
    async fn stopped_by_replay(&mut self) -> Option<String> {
        let grace = self.runner.timeout().min(Duration::from_secs(1));
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
            let (what, back) = self.keeper.revive(self.runner.probe()).await;
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
                format!("{}: {why}", R::STOPPED)
            } else {
                format!(
                    "it stopped serving while this case ran beside {} ({why}; with --jobs 1 the one case is named)",
                    others.join(", ")
                )
            };
            died::<R>(r, &actual);
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
        let again = self.runner.run(case).await;
        if let Some(why2) = self.stopped_by_replay().await {
            let (what, back) = self.keeper.revive(self.runner.probe()).await;
            let mut r = again;
            died::<R>(
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
                let prev_again = self.runner.run(prev).await;
                if let Some(why2) = self.stopped_by_replay().await {
                    let (what, back) = self.keeper.revive(self.runner.probe()).await;
                    let mut r = prev_again;
                    died::<R>(
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
        died::<R>(
            &mut r,
            &format!(
                "it stopped serving after this case's records: {why} (run again alone after a restart, neither this case nor the one before it stopped it again)"
            ),
        );
        self.record(vec![(index, r)]);
    }
}

/// Turns a result into the failure of a case that stopped the target.
fn died<R: Runner>(r: &mut CaseResult, actual: &str) {
    r.outcome = Outcome::fail(
        format!("the {} to go on serving after this case", R::TARGET),
        format!("{actual} (before that: {})", r.outcome.detail),
    );
}

fn skipped<R: Runner>(case: &Case<R>, killer: &str) -> CaseResult {
    CaseResult {
        info: case.info.clone(),
        outcome: Outcome::skip(crate::case::stopped_detail(killer)),
        duration: Duration::ZERO,
        transcript: None,
    }
}

fn lost<R: Runner>(case: &Case<R>) -> CaseResult {
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
