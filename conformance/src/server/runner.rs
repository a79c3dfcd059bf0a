//! The web-server suite's side of the scheduler ([`crate::schedule`]):
//! every case shares the runner's one application side (its listener and
//! the connections the server keeps), so a case holds it for its whole
//! run; the liveness check is a plain GET carried to the runner and back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::case::{CaseResult, Outcome};
use crate::schedule::Runner;
use crate::suites::server::{Case, Ctx};
use crate::transcript::Transcript;

/// Runs the web-server suite's cases on one shared context.
pub struct ServerRunner {
    ctx: Arc<Mutex<Ctx>>,
    timeout: Duration,
}

impl ServerRunner {
    /// A runner over `ctx`, with the run's `--timeout`.
    pub fn new(ctx: Ctx, timeout: Duration) -> ServerRunner {
        ServerRunner {
            ctx: Arc::new(Mutex::new(ctx)),
            timeout,
        }
    }
}

impl Runner for ServerRunner {
    type Run = for<'a> fn(&'a mut Ctx) -> crate::suites::CaseFuture<'a>;
    type Probe = ();
    const TARGET: &'static str = "web server";
    const STOPPED: &'static str = "it stopped serving after this case";

    fn run(&self, case: &Case) -> impl std::future::Future<Output = CaseResult> + Send + 'static {
        let (case, ctx, timeout) = (case.clone(), self.ctx.clone(), self.timeout);
        async move {
            let mut ctx = ctx.lock_owned().await;
            run_case(&case, &mut ctx, timeout).await
        }
    }

    async fn healthy(&self) -> Result<(), String> {
        let mut ctx = self.ctx.lock().await;
        // Checked on a transcript of its own, after the case's.
        ctx.app.begin_case(Transcript::new());
        let alive = crate::suites::server::still_serves(&mut ctx).await;
        ctx.app.end_case(Duration::from_millis(500)).await;
        alive
    }

    fn probe(&self) -> &() {
        &()
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Runs one case on the shared context under the case budget
/// ([`crate::bounds::case_budget`]); every wait on the application side
/// stops at the read deadline, the budget is the safety net.
async fn run_case(case: &Case, ctx: &mut Ctx, timeout: Duration) -> CaseResult {
    let info = case.info.clone();
    let transcript = Transcript::new();
    ctx.app.begin_case(transcript.clone());
    let t0 = Instant::now();
    let started = tokio::time::Instant::now();
    let budget = crate::bounds::case_budget(timeout);
    ctx.app.case_deadline = Some(crate::bounds::read_deadline(started, timeout));
    let outcome = match tokio::time::timeout_at(started + budget, (case.run)(ctx)).await {
        Ok(o) => o,
        Err(_) => Outcome::fail(
            format!("the case to finish within {:.1} s", budget.as_secs_f64()),
            "it did not (every wait is bounded; this is a runner bug or a very slow server)",
        ),
    };
    ctx.app.case_deadline = None;
    ctx.app.end_case(Duration::from_millis(500)).await;
    // What the connections read before the case ended lands in its
    // transcript: each one's task logs a read before it answers.
    ctx.app.sync(Duration::from_millis(500)).await;
    let rendered = transcript.render();
    CaseResult {
        info,
        outcome,
        duration: t0.elapsed(),
        transcript: (!rendered.is_empty()).then_some(rendered),
    }
}
