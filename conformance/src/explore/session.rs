//! The target of one `explore` or `replay` run: where it is, the process
//! under `--spawn`, what it serves (found before the first conversation),
//! and one attempt: run a script, judge the recording, then check that the
//! target still serves (R-3.5-3), restarting a spawned one that died.

use std::time::Duration;

use fcgi_proto::decoder::Decoder;
use fcgi_proto::management::{KNOWN_VARIABLES, MPXS_CONNS};
use fcgi_proto::record::{ParseOptions, RecordType, MAX_RECORD_LEN};
use fcgi_proto::requirement as req;

use super::generate::Profile;
use super::oracle::{self, finding, Contract};
use super::plan::{Conn, Plan, Request, Script, Step};
use super::run;
use crate::app::reference::Reference;
use crate::conversation::{Connection, Dir, Event, Finding};
use crate::spawn::Child;
use crate::target::Addr;

/// The param every known-good request carries, so that it is told apart in a log.
pub const ALIVE_PARAM: &str = "ECHO_EXPLORE_ALIVE";

/// A target ready for conversations.
pub struct Session {
    /// Its address.
    pub addr: Addr,
    /// As given, for reports and conversation files.
    pub label: String,
    /// Bound on connecting and on every wait.
    pub timeout: Duration,
    /// `--param` pairs, first in every request's PARAMS.
    pub fixed: Vec<(Vec<u8>, Vec<u8>)>,
    /// What the oracle may assume.
    pub contract: Contract,
    /// What the target serves.
    pub profile: Profile,
    /// Whether the target serves (false once it stopped and could not be restarted).
    pub usable: bool,
    child: Option<Child>,
    /// The in-process reference application, when no target was given.
    _reference: Option<Reference>,
}

/// One conversation of [`Session::attempt_together`]: its recording, its
/// finding, and a finding it showed only beside the others.
pub type Together = (Vec<Connection>, Option<Finding>, Option<Finding>);

/// Which target the flags name.
pub enum Target {
    /// `--connect ADDR`.
    Connect(Addr),
    /// `--spawn CMD`.
    Spawn(String),
    /// Neither: the bundled reference application, in process.
    Reference,
}

fn known_good(role: u16) -> Request {
    Request {
        id: 1,
        role,
        // The runner closes after the answer: no wait on a target that would not.
        keep_conn: true,
        params: vec![super::plan::Param {
            name: ALIVE_PARAM.as_bytes().to_vec(),
            value: b"1".to_vec(),
            long_name: false,
            long_value: false,
        }],
        stdin: b"ping".to_vec(),
        data: if role == 3 {
            b"data".to_vec()
        } else {
            Vec::new()
        },
        cuts: Default::default(),
        padding: Vec::new(),
        mgmt: Vec::new(),
        abort_after: None,
        splits: Vec::new(),
    }
}

fn one(r: Request) -> Plan {
    Plan {
        connections: vec![Conn {
            requests: vec![r],
            pipelined: None,
            garbage: None,
            sentinel: false,
        }],
    }
}

/// The records the target sent on `c`, loosely framed (any version).
fn received(c: &Connection) -> Vec<(RecordType, Vec<u8>)> {
    let mut d = Decoder::with_options(
        ParseOptions::default().with_strict_version(false),
        2 * MAX_RECORD_LEN + (16 << 20),
    );
    let mut out = Vec::new();
    for e in &c.events {
        if let Event::Write {
            dir: Dir::FromTarget,
            hex,
            ..
        } = e
        {
            if d.push(hex).is_err() {
                break;
            }
            while let Ok(Some(r)) = d.next_record() {
                out.push((r.record_type(), r.content.to_vec()));
            }
        }
    }
    out
}

/// The protocolStatus of the first END_REQUEST on `c`, if one came.
fn end_status(c: &[Connection]) -> Option<u8> {
    c.iter().flat_map(received).find_map(|(t, body)| {
        (t == RecordType::EndRequest)
            .then(|| body.get(4).copied())
            .flatten()
    })
}

impl Session {
    /// Starts or reaches the target and finds what it serves. An error is
    /// one line for the CLI's exit 2.
    pub async fn open(
        target: Target,
        timeout: Duration,
        fixed: Vec<(Vec<u8>, Vec<u8>)>,
        hostile: bool,
    ) -> Result<Session, String> {
        let (addr, label, child, reference) = match target {
            Target::Connect(a) => (a.clone(), a.to_string(), None, None),
            Target::Spawn(cmd) => {
                let (c, a) =
                    crate::app::spawned::start(&cmd).map_err(|e| format!("--spawn: {e}"))?;
                (a, cmd, Some(c), None)
            }
            Target::Reference => {
                let r = Reference::start(&[])
                    .await
                    .map_err(|e| format!("cannot start the reference application: {e}"))?;
                (r.addr().clone(), "reference-app".into(), None, Some(r))
            }
        };
        let mut s = Session {
            addr,
            label,
            timeout,
            fixed,
            contract: Contract::default(),
            profile: Profile {
                roles: vec![1],
                mpxs: false,
                get_values: false,
                hostile,
            },
            usable: true,
            child,
            _reference: reference,
        };
        s.find_profile().await?;
        Ok(s)
    }

    async fn find_profile(&mut self) -> Result<(), String> {
        // Under --spawn the socket is bound before the child listens on it.
        let (conns, err) = self.run_plan(&one(known_good(1))).await;
        if let Some(e) = err.or_else(|| {
            end_status(&conns)
                .is_none()
                .then(|| "a Responder request got no END_REQUEST".to_string())
        }) {
            let exit = self
                .child
                .as_mut()
                .and_then(|c| {
                    c.exited_now()
                        .map(|x| format!("; it {x} ({})", c.output_line()))
                })
                .unwrap_or_default();
            return Err(format!(
                "{} does not serve: {e}{exit} (start the application there, give --spawn CMD, or raise --timeout)",
                self.label
            ));
        }
        let echo = Contract {
            echo: true,
            filter_data: false,
        };
        self.contract.echo =
            !matches!(oracle::judge(&conns, echo), Some(f) if f.property == "echo");
        for role in [2u16, 3] {
            let (c, _) = self.run_plan(&one(known_good(role))).await;
            if end_status(&c) == Some(0) {
                self.profile.roles.push(role);
                if role == 3 && self.contract.echo {
                    let with_data = Contract {
                        echo: true,
                        filter_data: true,
                    };
                    self.contract.filter_data = !matches!(
                        oracle::judge(&c, with_data),
                        Some(f) if f.requirement == req::R_6_4_1.id()
                    );
                }
            }
        }
        let mut q = Vec::new();
        let _ = fcgi_proto::encoder::Encoder::default()
            .get_values(KNOWN_VARIABLES.iter().map(|n| n.as_bytes()), &mut q);
        let (c, _) = run::run(&self.addr, &[vec![Step::Write(q)]], self.timeout).await;
        let results: Vec<Vec<u8>> = c
            .iter()
            .flat_map(received)
            .filter(|(t, _)| *t == RecordType::GetValuesResult)
            .map(|(_, block)| block)
            .collect();
        self.profile.get_values = !results.is_empty();
        self.profile.mpxs = results
            .iter()
            .any(|b| fcgi_proto::name_value::find(b, MPXS_CONNS.as_bytes()) == Some(b"1"));
        Ok(())
    }

    async fn run_plan(&self, plan: &Plan) -> (Vec<Connection>, Option<String>) {
        run::run(&self.addr, &plan.script(&self.fixed), self.timeout).await
    }

    /// Runs `script`, judges it, and checks the target still serves.
    pub async fn attempt(&mut self, script: &[Vec<Step>]) -> (Vec<Connection>, Option<Finding>) {
        let (conns, err) = run::run(&self.addr, script, self.timeout).await;
        let mut found = oracle::judge(&conns, self.contract);
        if found.is_none() {
            if let Some(e) = err {
                found = Some(self.dead(format!("a connection of the conversation failed: {e}")));
            }
        }
        if let Err(why) = self.alive().await {
            let f = self.dead(why);
            found = found.or(Some(f));
            self.usable = self.revive().await;
        }
        (conns, found)
    }

    /// How many conversations may run at once: at most `jobs`, bounded by
    /// the capacity the target shows (the application suite's probe,
    /// [`crate::app::capacity`]); one under `--hostile`, where a
    /// conversation may break the target and its death must be pinned on
    /// it. The reason is for the report.
    pub async fn concurrency(&self, jobs: usize) -> (usize, String) {
        if self.profile.hostile {
            return (1, "hostile conversations run one at a time".into());
        }
        if jobs <= 1 {
            return (1, "--jobs 1".into());
        }
        let ctx = crate::app::ctx::Ctx::new(
            self.addr.clone(),
            self.timeout,
            self.fixed.clone(),
            self.child.is_some(),
        );
        let cap = crate::app::capacity::learn_capacity(&ctx, jobs).await;
        (cap.jobs, cap.reason.replace("case(s)", "conversation(s)"))
    }

    /// Runs `scripts` side by side, judges each, then checks once that the
    /// target still serves. What could depend on the company a
    /// conversation kept is run again alone, in order, with
    /// [`Session::attempt`]: every conversation of the batch when the target
    /// stopped serving (so that the death is pinned on the one that caused
    /// it), and every conversation that showed a finding (so that a finding
    /// stands only if it shows alone). The third element of each outcome is
    /// the finding a conversation showed beside the others and not alone.
    /// One script is simply [`Session::attempt`]ed.
    pub async fn attempt_together(&mut self, scripts: &[Script]) -> Vec<Together> {
        if let [one] = scripts {
            let (conns, found) = self.attempt(one).await;
            return vec![(conns, found, None)];
        }
        let mut set = tokio::task::JoinSet::new();
        for (i, script) in scripts.iter().enumerate() {
            let (addr, script, timeout) = (self.addr.clone(), script.clone(), self.timeout);
            set.spawn(async move { (i, run::run(&addr, &script, timeout).await) });
        }
        let mut runs: Vec<Option<(Vec<Connection>, Option<String>)>> = vec![None; scripts.len()];
        while let Some(j) = set.join_next().await {
            if let Ok((i, r)) = j {
                if let Some(slot) = runs.get_mut(i) {
                    *slot = Some(r);
                }
            }
        }
        let mut out: Vec<Together> = runs
            .into_iter()
            .map(|r| {
                let (conns, err) = r
                    .unwrap_or_else(|| (Vec::new(), Some("the conversation's task failed".into())));
                let found = oracle::judge(&conns, self.contract).or_else(|| {
                    err.map(|e| self.dead(format!("a connection of the conversation failed: {e}")))
                });
                (conns, found, None)
            })
            .collect();
        let alive = self.alive().await;
        if alive.is_err() {
            self.usable = self.revive().await;
            if !self.usable {
                // Nothing can be run again: the death is the batch's.
                if let (Some(first), Err(why)) = (out.first_mut(), alive) {
                    first.1 = Some(self.dead(format!(
                        "{why}, after {} conversations ran together; the target could not be restarted to tell which one",
                        scripts.len()
                    )));
                }
                return out;
            }
        }
        for (script, o) in scripts.iter().zip(out.iter_mut()) {
            if !self.usable {
                break;
            }
            if alive.is_ok() && o.1.is_none() {
                continue;
            }
            let beside = o.1.take();
            let (conns, found) = self.attempt(script).await;
            let only_beside = if found.is_none() { beside } else { None };
            *o = (conns, found, only_beside);
        }
        out
    }

    fn dead(&self, why: String) -> Finding {
        finding(
            "alive",
            req::R_3_5_3,
            "the application still serves after the conversation".into(),
            why,
        )
    }

    /// A known-good request on a fresh connection gets its END_REQUEST.
    pub async fn alive(&mut self) -> Result<(), String> {
        if let Some(c) = self.child.as_mut() {
            if let Some(exit) = c.exited_now() {
                return Err(format!("the process {exit} ({})", c.output_line()));
            }
        }
        let (conns, err) = self.run_plan(&one(known_good(1))).await;
        if let Some(e) = err {
            return Err(format!("a known-good request could not be sent: {e}"));
        }
        if end_status(&conns).is_none() {
            let exit = self
                .child
                .as_mut()
                .and_then(|c| c.exited_now().map(|x| format!("; the process {x}")))
                .unwrap_or_default();
            return Err(format!(
                "a known-good request got no END_REQUEST within {:?}{exit}",
                self.timeout
            ));
        }
        Ok(())
    }

    /// Restarts a spawned target that died or stopped serving, so that
    /// exploring goes on; false if it cannot be made to serve again.
    async fn revive(&mut self) -> bool {
        let Some(c) = self.child.as_mut() else {
            return false;
        };
        if c.restart().await.is_err() {
            return false;
        }
        self.alive().await.is_ok()
    }

    /// The resident memory of a spawned target's process group, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        self.child
            .as_ref()
            .and_then(Child::pid)
            .and_then(super::rss::group_rss_kib)
    }

    /// Stops a spawned target.
    pub async fn close(mut self) {
        if let Some(mut c) = self.child.take() {
            c.stop().await;
        }
    }
}
