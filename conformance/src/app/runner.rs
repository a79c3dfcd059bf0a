//! The application suite's side of the scheduler ([`crate::schedule`]):
//! each case gets a fresh context and transcript and runs under the case
//! budget; the liveness check is a plain request on a fresh connection.

use std::time::{Duration, Instant};

use super::ctx::Ctx;
use crate::case::{CaseResult, Outcome};
use crate::schedule::Runner;
use crate::suites::app::Case;
use crate::transcript::Transcript;

/// Runs the application suite's cases: each with a fresh copy of `template`
/// (its own transcript).
pub struct AppRunner {
    /// The context every case starts from.
    pub template: Ctx,
}

impl AppRunner {
    fn ctx(&self) -> Ctx {
        Ctx {
            transcript: Transcript::new(),
            ..self.template.clone()
        }
    }
}

impl Runner for AppRunner {
    type Run = fn(Ctx) -> crate::suites::CaseFuture<'static>;
    type Probe = Ctx;
    const TARGET: &'static str = "application";
    const STOPPED: &'static str = "it stopped serving after this case's records";

    fn run(&self, case: &Case) -> impl std::future::Future<Output = CaseResult> + Send + 'static {
        let (case, ctx) = (case.clone(), self.ctx());
        async move { run_case(&case, ctx).await }
    }

    async fn healthy(&self) -> Result<(), String> {
        healthy(&self.template).await
    }

    fn probe(&self) -> &Ctx {
        &self.template
    }

    fn timeout(&self) -> Duration {
        self.template.timeout
    }
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
