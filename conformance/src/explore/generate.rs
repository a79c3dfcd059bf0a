//! The strategies: a seeded ChaCha8 generator (`rand`) draws each
//! conversation from what the target serves ([`Profile`]). Valid by
//! default: every conversation is one a conforming web server may send.
//! With `hostile`, some requests name an unknown role (§5.1) and some
//! connections end with bytes that break §3.3.

use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt};

use super::plan::{Conn, Mgmt, Param, Plan, Request};
use fcgi_proto::management::KNOWN_VARIABLES;
use fcgi_proto::record::{Header, RecordType};

/// Longest STDIN a conversation sends (multi-MiB bodies stay for a
/// later budget; this is past the 64 KiB edge of one record).
pub const MAX_STDIN: usize = 256 << 10;
/// Most params a request carries beyond the fixed ones.
pub const MAX_PARAMS: usize = 64;
/// A name `explore` asks for in GET_VALUES that no application knows (R-4.1-2).
pub const UNKNOWN_VARIABLE: &[u8] = b"FCGI_EXPLORE_UNKNOWN";

/// What the target was found to serve before exploring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Role codes answered with FCGI_REQUEST_COMPLETE.
    pub roles: Vec<u16>,
    /// FCGI_MPXS_CONNS=1 in GET_VALUES_RESULT.
    pub mpxs: bool,
    /// GET_VALUES was answered: connections end with a GET_VALUES sentinel.
    pub get_values: bool,
    /// Break rules on purpose (`--hostile`).
    pub hostile: bool,
}

fn chance(rng: &mut ChaCha8Rng, percent: u32) -> bool {
    rng.random_range(0..100) < percent
}

fn printable(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.random_range(b' '..=b'~')).collect()
}

/// A value length: short, around the 127/128 edge of the length forms
/// (§3.4), long, or (rarely) past one record's 65535 bytes.
fn value_len(rng: &mut ChaCha8Rng) -> usize {
    match rng.random_range(0..100) {
        0..=44 => rng.random_range(0..=24),
        45..=69 => rng.random_range(120..=136),
        70..=94 => rng.random_range(137..=4000),
        _ => rng.random_range(60_000..=70_000),
    }
}

fn body(rng: &mut ChaCha8Rng, max: usize) -> Vec<u8> {
    let len = match rng.random_range(0..100) {
        0..=34 => 0,
        35..=74 => rng.random_range(1..=300),
        75..=92 => rng.random_range(301..=20_000),
        _ => rng.random_range(60_000..=max),
    };
    let mut b = vec![0u8; len.min(max)];
    rng.fill_bytes(&mut b);
    b
}

fn cuts(rng: &mut ChaCha8Rng, len: usize) -> Vec<u32> {
    if len < 2 || chance(rng, 50) {
        return Vec::new();
    }
    let n = rng.random_range(1..=4);
    (0..n).map(|_| rng.random_range(1..len) as u32).collect()
}

fn params(rng: &mut ChaCha8Rng) -> Vec<Param> {
    let n = if chance(rng, 10) {
        rng.random_range(20..=MAX_PARAMS)
    } else {
        rng.random_range(0..=6)
    };
    (0..n)
        .map(|i| {
            // ECHO_ names come back in the echo (docs/echo-contract.md); others only exercise parsing.
            let name = if chance(rng, 60) {
                format!("ECHO_X{i}")
            } else {
                format!("X_EXPLORE_{i}_{}", "N".repeat(rng.random_range(0..=140)))
            };
            let len = value_len(rng);
            Param {
                name: name.into_bytes(),
                value: printable(rng, len),
                long_name: chance(rng, 20),
                long_value: chance(rng, 20),
            }
        })
        .collect()
}

fn mgmt(rng: &mut ChaCha8Rng, hostile: bool) -> Mgmt {
    if hostile && chance(rng, 30) {
        return Mgmt::ForRequest(rng.random_range(12..=255));
    }
    if chance(rng, 60) {
        let mut names: Vec<Vec<u8>> = KNOWN_VARIABLES
            .iter()
            .filter(|_| chance(rng, 60))
            .map(|n| n.as_bytes().to_vec())
            .collect();
        if names.is_empty() || chance(rng, 40) {
            names.push(UNKNOWN_VARIABLE.to_vec());
        }
        Mgmt::GetValues(names)
    } else {
        // Types 12..=255 are no record type of the spec's (§8).
        Mgmt::Unknown(rng.random_range(12..=255))
    }
}

fn request(rng: &mut ChaCha8Rng, profile: &Profile, id: u16, keep_conn: bool) -> Request {
    let role = if profile.hostile && chance(rng, 10) {
        rng.random_range(4..=u16::MAX)
    } else {
        let i = rng.random_range(0..profile.roles.len().max(1));
        profile.roles.get(i).copied().unwrap_or(1)
    };
    let stdin = body(rng, MAX_STDIN);
    let data = if role == 3 {
        body(rng, MAX_STDIN / 4)
    } else {
        Vec::new()
    };
    let params = params(rng);
    let params_len: usize = params
        .iter()
        .map(|p| p.name.len() + p.value.len() + 8)
        .sum();
    let cuts = [
        cuts(rng, params_len),
        cuts(rng, stdin.len()),
        cuts(rng, data.len()),
    ];
    // Records in a request: BEGIN, a few of each stream; indices past the
    // end are clamped or ignored when the plan is rendered.
    let records = 4 + cuts.iter().map(Vec::len).sum::<usize>() as u32;
    let padding = if chance(rng, 50) {
        Vec::new()
    } else {
        (0..rng.random_range(1..=4))
            .map(|_| rng.random::<u8>())
            .collect()
    };
    let mgmt = if chance(rng, 30) {
        (0..rng.random_range(1..=2))
            .map(|_| (rng.random_range(0..records), mgmt(rng, profile.hostile)))
            .collect()
    } else {
        Vec::new()
    };
    let abort_after = chance(rng, 10).then(|| rng.random_range(0..records));
    let splits = if chance(rng, 50) {
        Vec::new()
    } else {
        (0..rng.random_range(1..=4))
            .map(|_| (rng.random_range(0..records), rng.random_range(0..40)))
            .collect()
    };
    let mut r = Request {
        id,
        role,
        keep_conn,
        params,
        stdin,
        data,
        cuts,
        padding,
        mgmt,
        abort_after,
        splits,
    };
    if !(1..=3).contains(&role) {
        // Refused at BEGIN_REQUEST: one short write, so that the
        // application has read it all before it answers and closes (bytes
        // left unread would reset the connection and lose its answer).
        r.params.clear();
        r.stdin.clear();
        r.cuts = Default::default();
        r.mgmt.clear();
        r.abort_after = None;
        r.splits.clear();
    }
    r
}

/// Bytes that break §3.3: a record of version 2, or a header whose
/// content runs past what is sent and the connection then closes.
fn garbage(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut h = Header::new(RecordType::Stdin, 1, 4, 0).to_bytes().to_vec();
    if chance(rng, 50) {
        h[0] = 2;
        h.extend_from_slice(b"oops");
    } else {
        h[1] = rng.random_range(12..=255);
        h[4] = 0xff;
    }
    h
}

/// Draws one conversation.
pub fn conversation(rng: &mut ChaCha8Rng, profile: &Profile) -> Plan {
    let n_conns = match rng.random_range(0..100) {
        0..=69 => 1,
        70..=89 => 2,
        _ => 3,
    };
    let connections = (0..n_conns)
        .map(|_| {
            let n = rng.random_range(1..=4usize);
            let pipelined = (profile.mpxs && n > 1 && chance(rng, 40)).then(|| rng.random());
            let mut used = std::collections::BTreeSet::new();
            let requests = (0..n)
                .map(|i| {
                    let last = i + 1 == n;
                    // Small ids, as R-3.3-10 asks; distinct when interleaved.
                    let mut id = if chance(rng, 50) {
                        1
                    } else {
                        rng.random_range(1..=20)
                    };
                    if pipelined.is_some() {
                        while !used.insert(id) {
                            id = id % 64 + 1;
                        }
                    }
                    let keep = pipelined.is_some() || !last || chance(rng, 50);
                    request(rng, profile, id, keep)
                })
                .collect();
            let garbage = (profile.hostile && chance(rng, 20)).then(|| garbage(rng));
            Conn {
                requests,
                pipelined,
                garbage,
                sentinel: profile.get_values,
            }
        })
        .collect();
    Plan { connections }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_seed_gives_one_conversation() {
        let p = Profile {
            roles: vec![1, 2, 3],
            mpxs: true,
            get_values: true,
            hostile: false,
        };
        let a = conversation(&mut ChaCha8Rng::seed_from_u64(5), &p);
        let b = conversation(&mut ChaCha8Rng::seed_from_u64(5), &p);
        assert_eq!(a, b);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for _ in 0..50 {
            let plan = conversation(&mut rng, &p);
            for c in &plan.connections {
                // Only the last request of a sequential connection may go without KEEP_CONN.
                let n = c.requests.len();
                assert!(c.requests.iter().take(n - 1).all(|r| r.keep_conn));
                assert!(c.requests.iter().all(|r| (1..=3).contains(&r.role)));
            }
            for steps in plan.script(&[]) {
                let bytes: Vec<u8> = steps
                    .iter()
                    .filter_map(|s| match s {
                        super::super::plan::Step::Write(w) => Some(w.clone()),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                let d = fcgi_proto::dump::dump(&bytes);
                assert!(
                    d.is_clean(),
                    "{}",
                    d.first_error().map(ToString::to_string).unwrap_or_default()
                );
            }
        }
    }
}
