//! Shrinking: from a failing plan, try smaller ones (fewer connections and
//! requests, no garbage or interleaving, no abort, fewer management records
//! and params, shorter values and bodies, fewer record cuts, write splits
//! and padding) and keep the first that still fails the same property,
//! until none does or the attempts run out. Each attempt is a live run,
//! and the target's liveness is checked after each (in [`Session::attempt`]);
//! a smaller conversation is kept only if it fails twice in a row.
//!
//! What "the same" failure is: a target that answers multiplexed requests
//! from threads of its own may show one fault as different findings, by
//! which answer it writes first (a response under the other request's id
//! is an echo mismatch when it comes first, a record after END_REQUEST
//! when it comes second). So the failing plan is first run again
//! [`SIGNATURE_RUNS`] times, and every finding it shows makes up its
//! signature; a candidate is kept when both of its runs show a finding of
//! the signature. Requiring one exact finding made the shrink stop early
//! whenever the order of answers changed between runs.

/// Extra runs of the failing plan that collect its signature.
pub const SIGNATURE_RUNS: usize = 3;

use super::plan::{Plan, Request};
use super::session::Session;
use crate::conversation::{Connection, Finding};

/// Attempts one shrink may make.
pub const MAX_ATTEMPTS: usize = 300;

/// What shrinking ended with.
pub struct Shrunk {
    /// The smallest failing plan.
    pub plan: Plan,
    /// Its finding.
    pub finding: Finding,
    /// Its recording.
    pub connections: Vec<Connection>,
    /// Live runs made.
    pub attempts: usize,
}

fn same(a: &Finding, b: &Finding) -> bool {
    a.property == b.property && a.requirement == b.requirement
}

/// Smaller versions of one request, biggest cut first.
fn smaller_request(r: &Request) -> Vec<Request> {
    let mut out = Vec::new();
    let mut with = |f: &dyn Fn(&mut Request)| {
        let mut c = r.clone();
        f(&mut c);
        if c != *r {
            out.push(c);
        }
    };
    with(&|c| c.abort_after = None);
    with(&|c| c.mgmt.clear());
    with(&|c| c.params.truncate(c.params.len() / 2));
    with(&|c| c.stdin.clear());
    with(&|c| c.data.clear());
    with(&|c| c.splits.clear());
    with(&|c| c.cuts = Default::default());
    with(&|c| c.padding.clear());
    with(&|c| c.stdin.truncate(c.stdin.len() / 2));
    with(&|c| c.data.truncate(c.data.len() / 2));
    for i in 0..r.mgmt.len() {
        with(&|c| {
            c.mgmt.remove(i);
        });
    }
    for i in 0..r.params.len() {
        with(&|c| {
            c.params.remove(i);
        });
    }
    for i in 0..r.params.len() {
        with(&|c| {
            let v = &mut c.params[i].value;
            v.truncate(v.len() / 2);
        });
        with(&|c| {
            let p = &mut c.params[i];
            p.name.truncate(p.name.len().clamp(6, 12));
            p.long_name = false;
            p.long_value = false;
        });
    }
    for i in 0..r.splits.len() {
        with(&|c| {
            c.splits.remove(i);
        });
    }
    for k in 0..3 {
        for i in 0..r.cuts[k].len() {
            with(&|c| {
                c.cuts[k].remove(i);
            });
        }
    }
    with(&|c| c.id = 1);
    with(&|c| c.role = 1);
    out
}

/// Whether a web server may send `p`: interleaved requests have distinct
/// ids (R-5.1-6), so a shrink step cannot make the runner the one at fault.
fn valid(p: &Plan) -> bool {
    p.connections.iter().all(|c| {
        c.pipelined.is_none() || {
            let mut ids: Vec<u16> = c.requests.iter().map(|r| r.id).collect();
            ids.sort_unstable();
            ids.windows(2).all(|w| w[0] != w[1])
        }
    })
}

/// Smaller plans than `p`, biggest cut first, each one a web server may send.
fn candidates(p: &Plan) -> Vec<Plan> {
    let mut all = every_candidate(p);
    all.retain(valid);
    all
}

fn every_candidate(p: &Plan) -> Vec<Plan> {
    let mut out = Vec::new();
    let n = p.connections.len();
    for i in 0..n {
        if n > 1 {
            let mut c = p.clone();
            c.connections.remove(i);
            out.push(c);
        }
    }
    for (i, conn) in p.connections.iter().enumerate() {
        let m = conn.requests.len();
        for j in 0..m {
            if m > 1 {
                let mut c = p.clone();
                c.connections[i].requests.remove(j);
                out.push(c);
            }
        }
        if conn.garbage.is_some() {
            let mut c = p.clone();
            c.connections[i].garbage = None;
            out.push(c);
        }
        if conn.pipelined.is_some() {
            let mut c = p.clone();
            c.connections[i].pipelined = None;
            out.push(c);
        }
        for (j, r) in conn.requests.iter().enumerate() {
            for smaller in smaller_request(r) {
                let mut c = p.clone();
                c.connections[i].requests[j] = smaller;
                out.push(c);
            }
        }
    }
    out
}

/// Shrinks `plan`, which failed with `finding` and recorded `connections`.
pub async fn shrink(
    session: &mut Session,
    plan: Plan,
    finding: Finding,
    connections: Vec<Connection>,
) -> Shrunk {
    let mut best = Shrunk {
        plan,
        finding,
        connections,
        attempts: 0,
    };
    let mut signature = vec![best.finding.clone()];
    let script = best.plan.script(&session.fixed);
    for _ in 0..SIGNATURE_RUNS {
        if !session.usable {
            break;
        }
        best.attempts += 1;
        if let (_, Some(f)) = session.attempt(&script).await {
            if !signature.iter().any(|s| same(s, &f)) {
                signature.push(f);
            }
        }
    }
    let of_signature = |f: &Finding| signature.iter().any(|s| same(s, f));
    'outer: loop {
        for cand in candidates(&best.plan) {
            if best.attempts >= MAX_ATTEMPTS || !session.usable {
                break 'outer;
            }
            best.attempts += 1;
            let script = cand.script(&session.fixed);
            let (conns, found) = session.attempt(&script).await;
            if found.as_ref().is_some_and(of_signature) {
                // Kept only if it fails again: a reproducer that fails by
                // the luck of timing once is no smaller reproducer.
                best.attempts += 1;
                let (again, found) = session.attempt(&script).await;
                if let Some(f) = found.filter(of_signature) {
                    best.plan = cand;
                    best.finding = f;
                    best.connections = again;
                    continue 'outer;
                }
                drop(conns);
            }
        }
        break;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::generate::{conversation, Profile};
    use rand::SeedableRng;

    #[test]
    fn every_candidate_is_smaller_and_sendable() {
        let profile = Profile {
            roles: vec![1, 2, 3],
            mpxs: true,
            get_values: true,
            hostile: false,
        };
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let p = conversation(&mut rng, &profile);
            for c in candidates(&p) {
                assert!(valid(&c));
                assert_ne!(c, p);
                assert!(c.requests() <= p.requests());
            }
        }
    }
}
