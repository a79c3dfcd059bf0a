//! The application suite's model of its target's capacity: how many
//! connections it serves at once, learned before the cases, so that the
//! scheduler never runs more cases at once than it can serve.

use std::time::Duration;

use fcgi_proto::encoder::Encoder;
use fcgi_proto::management;
use tokio::task::JoinSet;

use super::conn::Conn;
use super::ctx::Ctx;
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
