//! A conversation as `explore` plans it: connections of requests, each
//! request with its params (and their length forms, §3.4), bodies, how its
//! streams are cut into records (§3.3, §5.3), padding, management records
//! between its records (§4), an ABORT_REQUEST (§5.4) and where its bytes
//! are split across writes. The shrinker works on this; [`Plan::script`]
//! turns it into bytes, written with the codec's record header
//! (`fcgi_proto::record::Header`) and pair encoder (`fcgi_proto::name_value`).

use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::{Header, RecordType, MAX_CONTENT_LEN, NULL_REQUEST_ID};
use fcgi_proto::role::Role;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// One name-value pair and the length forms it is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The name.
    pub name: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// Send the name's length in the 4-byte form even when it is short (R-3.4-3).
    pub long_name: bool,
    /// Send the value's length in the 4-byte form even when it is short (R-3.4-3).
    pub long_value: bool,
}

/// A management record put between a request's records (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mgmt {
    /// FCGI_GET_VALUES asking for these names (§4.1).
    GetValues(Vec<Vec<u8>>),
    /// A management record of a type no application knows (§4.2).
    Unknown(u8),
    /// With `--hostile`: a record of an undefined type under the request's
    /// own id (§8); any answer to it is a management record, id 0 (R-A-3).
    ForRequest(u8),
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Its request id (nonzero).
    pub id: u16,
    /// The role code in BEGIN_REQUEST (an unknown one only with `--hostile`).
    pub role: u16,
    /// FCGI_KEEP_CONN.
    pub keep_conn: bool,
    /// Params after the ones every request carries (`--param`, CONTENT_LENGTH).
    pub params: Vec<Param>,
    /// STDIN bytes.
    pub stdin: Vec<u8>,
    /// DATA bytes (Filter only).
    pub data: Vec<u8>,
    /// Where PARAMS, STDIN and DATA content is cut into records, as offsets
    /// into each stream (out-of-range ones are ignored).
    pub cuts: [Vec<u32>; 3],
    /// Padding of the request's records in turn, cycled; none if empty.
    pub padding: Vec<u8>,
    /// Management records, each after the record with this index.
    pub mgmt: Vec<(u32, Mgmt)>,
    /// ABORT_REQUEST after the record with this index (the rest not sent).
    pub abort_after: Option<u32>,
    /// Write splits: before byte `.1` of the record with index `.0`
    /// (an offset past the record splits after it).
    pub splits: Vec<(u32, u32)>,
}

/// One transport connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    /// The requests in order.
    pub requests: Vec<Request>,
    /// Records of all requests interleaved without waiting for answers
    /// (only where the target says FCGI_MPXS_CONNS=1); otherwise each
    /// request is sent after the previous one's END_REQUEST.
    pub pipelined: Option<u64>,
    /// With `--hostile`: bytes that break a rule, sent after the last answer.
    pub garbage: Option<Vec<u8>>,
    /// End with [`Step::Sentinel`]: after the last END_REQUEST of a
    /// connection left open, a GET_VALUES whose answer, or the target's
    /// close, ends the wait: records the application sends before it (a
    /// second END_REQUEST, STDOUT after the end) and a close after the
    /// last END_REQUEST are seen, whatever the timing, by an application
    /// that answers in order.
    pub sentinel: bool,
}

/// A whole planned conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The connections, opened one after another.
    pub connections: Vec<Conn>,
}

/// One step of a connection's script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write these bytes in one write.
    Write(Vec<u8>),
    /// Wait until this many END_REQUESTs have come back on the connection.
    Sync(usize),
    /// Wait for the target to close (or the timeout), after bytes it may refuse.
    Drain,
    /// Where the bytes sent so far leave the connection open (the last
    /// BEGIN_REQUEST had FCGI_KEEP_CONN): wait for every answer, then
    /// write [`sentinel`]; the connection's last wait then ends at its
    /// answer or at the target's close, whichever comes first. The runner
    /// writes it whether or not the target closed during the wait, so a
    /// replay of the recording sends what the run sent (R-5.1-2, R-4.1-1).
    Sentinel,
}

/// The sentinel's bytes: a GET_VALUES for FCGI_MPXS_CONNS (§4.1, R-4.1-1).
pub fn sentinel() -> Vec<u8> {
    Mgmt::GetValues(vec![fcgi_proto::management::MPXS_CONNS.as_bytes().to_vec()])
        .record(NULL_REQUEST_ID)
}

/// The bytes of a connection and when to send them.
pub type Script = Vec<Vec<Step>>;

/// One record to send, with where it is split.
struct Out {
    bytes: Vec<u8>,
    split: Option<u32>,
}

fn record(t: RecordType, id: u16, content: &[u8], pad: u8) -> Vec<u8> {
    let len = u16::try_from(content.len()).unwrap_or(u16::MAX);
    let content = content.get(..usize::from(len)).unwrap_or_default();
    let mut out = Header::new(t, id, len, pad).to_bytes().to_vec();
    out.extend_from_slice(content);
    out.resize(out.len() + usize::from(pad), 0);
    out
}

/// Cuts `content` at `cuts` (and every [`MAX_CONTENT_LEN`] bytes): the
/// contents of the non-empty records that carry it.
fn pieces<'a>(content: &'a [u8], cuts: &[u32]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| c as usize)
        .filter(|&c| c > 0 && c < content.len())
        .collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for c in at.into_iter().chain(std::iter::once(content.len())) {
        while c - from > MAX_CONTENT_LEN {
            out.push(
                content
                    .get(from..from + MAX_CONTENT_LEN)
                    .unwrap_or_default(),
            );
            from += MAX_CONTENT_LEN;
        }
        if c > from {
            out.push(content.get(from..c).unwrap_or_default());
        }
        from = c;
    }
    out
}

impl Param {
    fn encode(&self, out: &mut Vec<u8>) {
        let form = |long: bool, len: usize| {
            if long {
                LengthForm::Long
            } else {
                LengthForm::shortest(len)
            }
        };
        // Lengths are capped by generation far below 2^31.
        let _ = name_value::encode_pair_with(
            &self.name,
            &self.value,
            form(self.long_name, self.name.len()),
            form(self.long_value, self.value.len()),
            out,
        );
    }
}

impl Request {
    /// The PARAMS block: `fixed` pairs, CONTENT_LENGTH (and FCGI_DATA_LENGTH
    /// for a Filter) of the bodies sent, then the planned pairs.
    pub fn params_block(&self, fixed: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let role = Role::from_u16(self.role);
        let mut block = Vec::new();
        for (n, v) in fixed {
            let _ = name_value::encode_pair(n, v, &mut block);
        }
        if role.reads_stdin() {
            let len = self.stdin.len().to_string();
            let _ = name_value::encode_pair(b"CONTENT_LENGTH", len.as_bytes(), &mut block);
        }
        if role.reads_data() {
            let len = self.data.len().to_string();
            let _ = name_value::encode_pair(b"FCGI_DATA_LENGTH", len.as_bytes(), &mut block);
        }
        for p in &self.params {
            p.encode(&mut block);
        }
        block
    }

    /// The request's records in order, ABORT_REQUEST in place, padding applied.
    fn records(&self, fixed: &[(Vec<u8>, Vec<u8>)]) -> Vec<(RecordType, Vec<u8>)> {
        let role = Role::from_u16(self.role);
        let begin = [
            (self.role >> 8) as u8,
            self.role as u8,
            u8::from(self.keep_conn),
            0,
            0,
            0,
            0,
            0,
        ];
        let mut recs = vec![(RecordType::BeginRequest, begin.to_vec())];
        let block = self.params_block(fixed);
        let mut stream = |t: RecordType, bytes: &[u8], cuts: &[u32]| {
            for p in pieces(bytes, cuts) {
                recs.push((t, p.to_vec()));
            }
            recs.push((t, Vec::new()));
        };
        stream(RecordType::Params, &block, &self.cuts[0]);
        // An Authorizer gets an empty STDIN (R-6.3-2), as web servers send it.
        let stdin: &[u8] = if role == Role::Authorizer {
            &[]
        } else {
            &self.stdin
        };
        stream(RecordType::Stdin, stdin, &self.cuts[1]);
        if role.reads_data() {
            stream(RecordType::Data, &self.data, &self.cuts[2]);
        }
        if let Some(k) = self.abort_after {
            recs.truncate(k as usize + 1);
            recs.push((RecordType::AbortRequest, Vec::new()));
        }
        recs
    }

    fn outs(&self, fixed: &[(Vec<u8>, Vec<u8>)]) -> Vec<Out> {
        let mut outs = Vec::new();
        let recs = self.records(fixed);
        let last = recs.len().saturating_sub(1);
        for (i, (t, content)) in recs.into_iter().enumerate() {
            let pad = if self.padding.is_empty() {
                0
            } else {
                self.padding[i % self.padding.len()]
            };
            let split = self
                .splits
                .iter()
                .find(|(r, _)| *r as usize == i)
                .map(|&(_, at)| at);
            outs.push(Out {
                bytes: record(t, self.id, &content, pad),
                split,
            });
            for (after, m) in &self.mgmt {
                if (*after as usize).min(last) == i {
                    outs.push(Out {
                        bytes: m.record(self.id),
                        split: None,
                    });
                }
            }
        }
        outs
    }
}

impl Mgmt {
    fn record(&self, request_id: u16) -> Vec<u8> {
        match self {
            Mgmt::GetValues(names) => {
                let q = fcgi_proto::management::query(names.iter().map(Vec::as_slice))
                    .unwrap_or_default();
                record(RecordType::GetValues, NULL_REQUEST_ID, &q, 0)
            }
            Mgmt::Unknown(t) => record(RecordType::from_u8(*t), NULL_REQUEST_ID, &[0; 8], 0),
            Mgmt::ForRequest(t) => record(RecordType::from_u8(*t), request_id, b"?", 0),
        }
    }
}

/// Joins records into writes, cutting where they are marked.
fn writes(outs: Vec<Out>) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for o in outs {
        match o.split {
            Some(at) if (at as usize) < o.bytes.len() => {
                let (a, b) = o.bytes.split_at(at as usize);
                cur.extend_from_slice(a);
                if !cur.is_empty() {
                    steps.push(Step::Write(std::mem::take(&mut cur)));
                }
                cur.extend_from_slice(b);
            }
            Some(_) => {
                cur.extend_from_slice(&o.bytes);
                steps.push(Step::Write(std::mem::take(&mut cur)));
            }
            None => cur.extend_from_slice(&o.bytes),
        }
    }
    if !cur.is_empty() {
        steps.push(Step::Write(cur));
    }
    steps
}

impl Plan {
    /// The script of every connection; `fixed` are the `--param` pairs.
    pub fn script(&self, fixed: &[(Vec<u8>, Vec<u8>)]) -> Script {
        self.connections.iter().map(|c| c.script(fixed)).collect()
    }

    /// Requests in all.
    pub fn requests(&self) -> usize {
        self.connections.iter().map(|c| c.requests.len()).sum()
    }
}

impl Conn {
    fn script(&self, fixed: &[(Vec<u8>, Vec<u8>)]) -> Vec<Step> {
        let mut steps = Vec::new();
        match self.pipelined {
            Some(seed) => {
                // Interleave the requests' records, each request's in order.
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut queues: Vec<std::collections::VecDeque<Out>> =
                    self.requests.iter().map(|r| r.outs(fixed).into()).collect();
                let mut merged = Vec::new();
                // Bounded: each turn takes one record out of the queues.
                loop {
                    queues.retain(|q| !q.is_empty());
                    if queues.is_empty() {
                        break;
                    }
                    let k = rng.random_range(0..queues.len());
                    if let Some(o) = queues.get_mut(k).and_then(|q| q.pop_front()) {
                        merged.push(o);
                    }
                }
                steps.extend(writes(merged));
            }
            None => {
                for (i, r) in self.requests.iter().enumerate() {
                    if i > 0 {
                        steps.push(Step::Sync(i));
                    }
                    steps.extend(writes(r.outs(fixed)));
                }
            }
        }
        if self.sentinel && self.garbage.is_none() {
            steps.push(Step::Sentinel);
        }
        if let Some(g) = &self.garbage {
            steps.push(Step::Sync(self.requests.len()));
            steps.push(Step::Write(g.clone()));
            steps.push(Step::Drain);
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request {
            id: 1,
            role: 1,
            keep_conn: true,
            params: vec![Param {
                name: b"ECHO_A".to_vec(),
                value: vec![b'v'; 200],
                long_name: true,
                long_value: false,
            }],
            stdin: b"hello".to_vec(),
            data: Vec::new(),
            cuts: [vec![3, 9999], vec![2], vec![]],
            padding: vec![0, 255],
            mgmt: vec![(1, Mgmt::Unknown(77))],
            abort_after: None,
            splits: vec![(0, 3), (2, 100_000)],
        }
    }

    #[test]
    fn the_script_frames_as_planned() {
        let plan = Plan {
            connections: vec![Conn {
                requests: vec![req(), req()],
                pipelined: None,
                garbage: None,
                sentinel: false,
            }],
        };
        let script = plan.script(&[]);
        let steps = &script[0];
        assert!(matches!(steps[0], Step::Write(ref w) if w.len() == 3));
        assert!(steps.contains(&Step::Sync(1)));
        let bytes: Vec<u8> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Write(w) => Some(w.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let dump = fcgi_proto::dump::dump(&bytes);
        assert!(dump.is_clean(), "{dump}");
        let text = dump.to_string();
        // BEGIN, 2 PARAMS + end, UNKNOWN after PARAMS #1, 2 STDIN + end: 8 records a request.
        assert_eq!(dump.entries.len(), 16, "{text}");
        assert!(text.contains("id=0 len=8"), "{text}");
        assert_ne!(steps.last(), Some(&Step::Sentinel));
        let mut with = plan.clone();
        with.connections[0].sentinel = true;
        assert_eq!(with.script(&[])[0].last(), Some(&Step::Sentinel));
        with.connections[0].garbage = Some(vec![0xff]);
        assert_ne!(with.script(&[])[0].last(), Some(&Step::Sentinel));
    }

    #[test]
    fn an_abort_cuts_the_request_short() {
        let mut r = req();
        r.abort_after = Some(0);
        r.mgmt.clear();
        let recs = r.records(&[]);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].0, RecordType::AbortRequest);
        let big = vec![0u8; 70_000];
        assert_eq!(pieces(&big, &[]).len(), 2);
        assert_eq!(pieces(&big, &[10]).len(), 3);
        assert!(pieces(&[], &[1]).is_empty());
    }
}
