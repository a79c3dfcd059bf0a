//! One request as the web server sent it, and how the events of a
//! connection fold into the requests being collected.

use super::*;

/// One request as the web server sent it.
#[derive(Debug, Clone, Default)]
pub struct SeenRequest {
    /// Connection.
    pub conn: ConnId,
    /// Request id.
    pub id: u16,
    /// Role.
    pub role: Option<Role>,
    /// FCGI_KEEP_CONN.
    pub keep_conn: bool,
    /// BEGIN_REQUEST body.
    pub begin_body: Vec<u8>,
    /// Params (name, value, value length form), in order.
    pub params: Vec<(Vec<u8>, Vec<u8>, LengthForm)>,
    /// PARAMS ended by its empty record.
    pub params_ended: bool,
    /// PARAMS records seen (including the empty one).
    pub params_records: usize,
    /// STDIN bytes, the first [`bounds::STDIN_KEPT`].
    pub stdin: Vec<u8>,
    /// STDIN bytes past the bound, counted and dropped.
    pub stdin_discarded: u64,
    /// STDIN records seen (including the empty one).
    pub stdin_records: usize,
    /// STDIN ended by its empty record.
    pub stdin_ended: bool,
    /// Records for this request, in order: (type, content length, padding,
    /// reserved); the first [`bounds::REQUEST_RECORDS_KEPT`].
    pub records: Vec<(RecordType, usize, u8, u8)>,
    /// Records past those kept in `records`, counted only.
    pub records_dropped: u64,
    /// Protocol violations seen on its connection while it was collected
    /// (the first [`bounds::VIOLATIONS_KEPT`]).
    pub violations: Vec<fcgi_proto::Error>,
    /// A bound of the runner's the web server went past on its connection.
    pub over_bound: Option<String>,
    /// The connection closed while collecting.
    pub closed: bool,
}

impl SeenRequest {
    /// The value of param `name`.
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _, _)| n == name.as_bytes())
            .map(|(_, v, _)| v.as_slice())
    }

    /// The value of param `name` as text.
    pub fn param_str(&self, name: &str) -> Option<String> {
        self.param(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// When the request ran into one of the runner's bounds, a sentence
    /// for the case to report: "the request's STDIN exceeded the runner's
    /// bound of 64 MiB (N bytes discarded)" or the connection's bound.
    pub fn exceeded(&self) -> Option<String> {
        if let Some(b) = &self.over_bound {
            return Some(b.clone());
        }
        (self.stdin_discarded > 0).then(|| {
            format!(
                "the request's STDIN exceeded the runner's bound of {} ({} bytes discarded)",
                bounds::size(self.stdin_cap()),
                self.stdin_discarded
            )
        })
    }

    /// Once bytes were discarded, what was kept is exactly the bound.
    fn stdin_cap(&self) -> usize {
        self.stdin.len()
    }

    /// Whether everything the role calls for has arrived.
    pub fn complete(&self) -> bool {
        self.params_ended && (self.stdin_ended || self.role == Some(Role::Authorizer))
    }

    /// A short description for reports; it names a bound the request ran into.
    pub fn describe(&self) -> String {
        let mut d = self.describe_streams();
        if let Some(x) = self.exceeded() {
            d.push_str("; ");
            d.push_str(&x);
        }
        d
    }

    fn describe_streams(&self) -> String {
        format!(
            "conn {} id {} role {} keep_conn {}, {} params in {} PARAMS records{}, {} STDIN bytes in {} records{}",
            self.conn,
            self.id,
            self.role.map_or("?", Role::name),
            self.keep_conn,
            self.params.len(),
            self.params_records,
            if self.params_ended { " (ended)" } else { " (NOT ended)" },
            (self.stdin.len() as u64).saturating_add(self.stdin_discarded),
            self.stdin_records,
            if self.stdin_ended { " (ended)" } else { " (NOT ended)" },
        )
    }
}

pub(super) type Meta = (RecordType, u16, usize, u8, u8, Option<Vec<u8>>);

/// Folds one event into the requests being collected; false if it did not belong.
pub(super) fn absorb_into(
    reqs: &mut Vec<SeenRequest>,
    e: &AppEvent,
    last: &mut BTreeMap<ConnId, Meta>,
    max: usize,
    stdin_kept: usize,
) -> bool {
    let pos = |reqs: &Vec<SeenRequest>, id: u16| {
        reqs.iter().rposition(|r| r.conn == e.conn && r.id == id)
    };
    match &e.ev {
        Ev::Record {
            rtype,
            id,
            len,
            padding,
            reserved,
            begin_body,
            ..
        } => {
            last.insert(
                e.conn,
                (*rtype, *id, *len, *padding, *reserved, begin_body.clone()),
            );
            if let Some(i) = pos(reqs, *id) {
                if let Some(r) = reqs.get_mut(i) {
                    if !r.complete() || *rtype == RecordType::Stdin {
                        if r.records.len() < bounds::REQUEST_RECORDS_KEPT {
                            r.records.push((*rtype, *len, *padding, *reserved));
                        } else {
                            r.records_dropped += 1;
                        }
                        match rtype {
                            RecordType::Params => r.params_records += 1,
                            RecordType::Stdin => r.stdin_records += 1,
                            _ => {}
                        }
                    }
                }
            }
            true
        }
        Ev::Fcgi(ApplicationEvent::BeginRequest {
            request_id,
            role,
            keep_conn,
        }) => {
            let id = &request_id.get();
            if reqs.len() >= max {
                return false;
            }
            let mut r = SeenRequest {
                conn: e.conn,
                id: *id,
                role: Some(*role),
                keep_conn: *keep_conn,
                ..SeenRequest::default()
            };
            if let Some((t, _, len, pad, res, body)) = last.get(&e.conn) {
                r.records.push((*t, *len, *pad, *res));
                r.begin_body = body.clone().unwrap_or_default();
            }
            reqs.push(r);
            true
        }
        Ev::Fcgi(ApplicationEvent::ParamsEnd { request_id, block }) => {
            let Some(r) = pos(reqs, request_id.get()).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            r.params_ended = true;
            let mut it = name_value::pairs(block);
            while let Some(p) = it.next_pair() {
                match p {
                    Ok(p) => r
                        .params
                        .push((p.name.to_vec(), p.value.to_vec(), p.value_form)),
                    Err(err) => {
                        r.violations.push(err);
                        break;
                    }
                }
            }
            true
        }
        Ev::Fcgi(ApplicationEvent::Stdin { request_id, data }) => {
            let Some(r) = pos(reqs, request_id.get()).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            bounds::keep(&mut r.stdin, &mut r.stdin_discarded, data, stdin_kept, None);
            true
        }
        Ev::Fcgi(ApplicationEvent::StdinEnd { request_id }) => {
            let Some(r) = pos(reqs, request_id.get()).and_then(|i| reqs.get_mut(i)) else {
                return false;
            };
            r.stdin_ended = true;
            true
        }
        Ev::Violation(err) => {
            for r in reqs.iter_mut().filter(|r| r.conn == e.conn) {
                if r.violations.len() < bounds::VIOLATIONS_KEPT {
                    r.violations.push(*err);
                }
            }
            true
        }
        Ev::OverBound(what) => {
            for r in reqs.iter_mut().filter(|r| r.conn == e.conn) {
                r.over_bound.get_or_insert_with(|| what.clone());
            }
            true
        }
        Ev::Closed => {
            for r in reqs.iter_mut().filter(|r| r.conn == e.conn) {
                r.closed = true;
            }
            true
        }
        _ => true,
    }
}
