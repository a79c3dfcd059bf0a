//! One connection's task: reads the web server's records, checks them
//! with the codec's application side, queues them as events and writes
//! what the case asks.

use super::*;
use crate::driver::{Driver, ReadError, Tap, Writer};

/// The transcript tap of a connection that outlives cases: its bytes go
/// to the transcript of the case in progress, a fresh connection entry
/// in each.
pub(super) struct CaseTap {
    n: ConnId,
    current: Current,
    log: Mutex<Option<(u64, ConnLog)>>,
}

impl CaseTap {
    pub(super) fn new(n: ConnId, current: Current) -> Self {
        CaseTap {
            n,
            current,
            log: Mutex::new(None),
        }
    }
}

impl Tap for CaseTap {
    fn record(&self, dir: Dir, bytes: &[u8]) {
        let (gen, t) = {
            let g = self.current.lock().unwrap_or_else(|p| p.into_inner());
            (g.0, g.1.clone())
        };
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = !matches!(&*log, Some((g, _)) if *g == gen);
        if fresh {
            *log = Some((
                gen,
                t.connection(format!("web server connection #{}", self.n)),
            ));
        }
        if let Some((_, l)) = &*log {
            l.record(dir, bytes);
        }
    }
}

/// Per-connection bounds the harness applies on top of the codec's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) params_per_conn: usize,
}

pub(super) struct ConnState {
    pub(super) n: ConnId,
    pub(super) tx: mpsc::Sender<Msg>,
    pub(super) queue_bytes: Arc<Semaphore>,
    pub(super) values: Values,
    pub(super) limits: Limits,
    pub(super) encoder: Encoder,
    pub(super) stats: Arc<ConnStats>,
    /// Unended PARAMS bytes the codec holds, per request id.
    pub(super) params_held: BTreeMap<u16, usize>,
    /// Protocol violations found on this connection.
    pub(super) violations: usize,
    /// The connection went past a bound: close it when the case ends.
    pub(super) over_bound: bool,
    /// The answer a case armed for the next end of PARAMS.
    pub(super) early: EarlySlot,
}

/// Whether a connection goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// A control message that came while the connection waited on the web
/// server or the queue: Close ends the wait, Active is answered "busy"
/// (such a connection is closed at the case's end), others wait their turn.
fn watch(c: Option<Ctl>, deferred: &mut VecDeque<Ctl>) -> Flow {
    match c {
        None | Some(Ctl::Close) => Flow::Stop,
        Some(Ctl::Active(reply)) => {
            let _ = reply.send(1);
            Flow::Go
        }
        Some(other) => {
            deferred.push_back(other);
            Flow::Go
        }
    }
}

/// Writes to the web server, still obeying Close while the write waits:
/// the harness's own records, or (`raw`) a case's bytes as they are.
async fn write_watching(
    wr: &mut Writer,
    bytes: &[u8],
    raw: bool,
    ctl: &mut mpsc::UnboundedReceiver<Ctl>,
    deferred: &mut VecDeque<Ctl>,
) -> Flow {
    let fut = async {
        if raw {
            wr.send_raw(bytes).await
        } else {
            wr.send(bytes).await.map(drop)
        }
    };
    tokio::pin!(fut);
    loop {
        tokio::select! {
            r = &mut fut => return if r.is_ok() { Flow::Go } else { Flow::Stop },
            c = ctl.recv() => if watch(c, deferred) == Flow::Stop {
                return Flow::Stop;
            },
        }
    }
}

impl ConnState {
    /// Queues an event. While the queue is full (in events or payload
    /// bytes) the connection waits here, not reading its socket; Close
    /// still ends it.
    async fn send(
        &self,
        ev: Ev,
        ctl: &mut mpsc::UnboundedReceiver<Ctl>,
        deferred: &mut VecDeque<Ctl>,
    ) -> Flow {
        let bytes = match &ev {
            Ev::Fcgi(ApplicationEvent::Stdin { data, .. }) => data.len(),
            Ev::Fcgi(ApplicationEvent::ParamsEnd { block, .. }) => block.len(),
            _ => 0,
        };
        let (tx, sem, conn) = (&self.tx, &self.queue_bytes, self.n);
        let fut = async move {
            let permit = match bytes {
                0 => None,
                n => Some(
                    sem.clone()
                        .acquire_many_owned(n.min(EVENT_BYTES) as u32)
                        .await
                        .ok()?,
                ),
            };
            tx.send(Msg::Ev(AppEvent { conn, ev }, permit)).await.ok()
        };
        tokio::pin!(fut);
        loop {
            tokio::select! {
                r = &mut fut => return if r.is_some() { Flow::Go } else { Flow::Stop },
                c = ctl.recv() => if watch(c, deferred) == Flow::Stop {
                    return Flow::Stop;
                },
            }
        }
    }

    /// Carries out one control message from the case.
    async fn control(
        &mut self,
        c: Ctl,
        app: &mut Application,
        wr: &mut Writer,
        broken: bool,
        ctl: &mut mpsc::UnboundedReceiver<Ctl>,
        deferred: &mut VecDeque<Ctl>,
    ) -> Flow {
        let mut out = Vec::new();
        let mut close = false;
        let mut ack = None;
        let mut raw = false;
        match c {
            Ctl::Write(b) => {
                out = b;
                raw = true;
            }
            Ctl::EndRequest(id, app_status, status) => {
                close = self.end_request_bytes(app, id, app_status, status, &mut out);
            }
            Ctl::EndRequestAck(id, app_status, status, tx) => {
                close = self.end_request_bytes(app, id, app_status, status, &mut out);
                ack = Some(tx);
            }
            Ctl::Close => return Flow::Stop,
            Ctl::Shutdown => {
                let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
                return Flow::Go;
            }
            Ctl::Sync(reply) => {
                let _ = reply.send(());
                return Flow::Go;
            }
            Ctl::Active(reply) => {
                // A connection that misbehaved counts as busy: its state
                // is unknown to the next case, so it is closed.
                let busy = broken || self.over_bound || self.violations > 0;
                let _ = reply.send(if busy { 1 } else { app.active().count() });
                return Flow::Go;
            }
        }
        let flow = write_watching(wr, &out, raw, ctl, deferred).await;
        if let Some(tx) = ack {
            let _ = tx.send(flow == Flow::Go);
        }
        if flow == Flow::Stop || close {
            return Flow::Stop;
        }
        Flow::Go
    }

    /// Writes an armed answer for request `id` (STDOUT, its empty record,
    /// END_REQUEST); says whether the connection goes on and whether it
    /// is to close after it (no FCGI_KEEP_CONN).
    async fn answer_early(
        &mut self,
        app: &mut Application,
        wr: &mut Writer,
        id: u16,
        stdout: &[u8],
        ctl: &mut mpsc::UnboundedReceiver<Ctl>,
        deferred: &mut VecDeque<Ctl>,
    ) -> (Flow, bool) {
        let mut out = Vec::new();
        if let Some(rid) = RequestId::new(id) {
            if !stdout.is_empty() {
                let _ = app.stream(StreamType::Stdout, rid, stdout, &mut out);
            }
            let _ = app.end_stream(StreamType::Stdout, rid, &mut out);
        }
        let close = self.end_request_bytes(app, id, 0, ProtocolStatus::RequestComplete, &mut out);
        (write_watching(wr, &out, false, ctl, deferred).await, close)
    }

    /// END_REQUEST's bytes into `out`; true when the connection closes after it.
    fn end_request_bytes(
        &mut self,
        app: &mut Application,
        id: u16,
        app_status: u32,
        status: ProtocolStatus,
        out: &mut Vec<u8>,
    ) -> bool {
        self.params_held.remove(&id);
        let ended = RequestId::new(id)
            .ok_or(())
            .and_then(|rid| app.end_request(rid, app_status, status, out).map_err(drop));
        match ended {
            Ok(c) => c && app.should_close(),
            Err(()) => {
                let _ = self.encoder.end_request(id, app_status, status, out);
                false
            }
        }
    }
}

pub(super) async fn conn_task(
    mut st: ConnState,
    driver: Driver<Application>,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    permit: OwnedSemaphorePermit,
) {
    let (mut rd, mut wr) = driver.into_parts();
    let mut broken = false;
    let mut deferred: VecDeque<Ctl> = VecDeque::new();
    'conn: loop {
        if let Some(c) = deferred.pop_front() {
            if st
                .control(c, rd.party_mut(), &mut wr, broken, &mut ctl, &mut deferred)
                .await
                == Flow::Stop
            {
                break;
            }
            continue;
        }
        tokio::select! {
            c = ctl.recv() => {
                let Some(c) = c else { break };
                if st.control(c, rd.party_mut(), &mut wr, broken, &mut ctl, &mut deferred).await == Flow::Stop {
                    break;
                }
            }
            r = rd.fill(), if !broken => {
                match r {
                    Ok(0) | Err(ReadError::Io(_)) => break,
                    Ok(_) => {}
                    Err(ReadError::Malformed(e)) => {
                    broken = true;
                    if st.send(Ev::Violation(e), &mut ctl, &mut deferred).await == Flow::Stop {
                        break;
                    }
                    continue;
                    }
                }
                let mut answers = Vec::new();
                // (id, stdout, STDIN ended in this read) of an armed answer.
                let mut early: Option<(u16, Vec<u8>, bool)> = None;
                loop {
                    let (rec, app) = match rd.next_with_party() {
                        Ok(Some(r)) => r,
                        Ok(None) => break,
                        Err(e) => {
                            broken = true;
                            if st.send(Ev::Violation(e), &mut ctl, &mut deferred).await == Flow::Stop {
                                break 'conn;
                            }
                            break;
                        }
                    };
                    let (t, id) = (rec.record_type(), rec.request_id());
                    // Records for ids never begun are counted below, not
                    // reported one by one.
                    let reported = t == RecordType::BeginRequest
                        || id == 0
                        || t.is_management()
                        || matches!(t, RecordType::Unknown(_))
                        || RequestId::new(id).is_some_and(|rid| app.is_active(rid));
                    if reported {
                        let begin_body = (t == RecordType::BeginRequest)
                            .then(|| rec.content.to_vec());
                        let ev = Ev::Record {
                            rtype: t,
                            id,
                            len: rec.content.len(),
                            padding: rec.header.padding_length,
                            reserved: rec.header.reserved,
                            offset: rec.offset,
                            begin_body,
                        };
                        if st.send(ev, &mut ctl, &mut deferred).await == Flow::Stop {
                            break 'conn;
                        }
                    }
                    let handled = app.handle(&rec);
                    if matches!(handled, Ok(ApplicationEvent::Params { .. })) {
                        let held = st.params_held.entry(id).or_default();
                        *held = held.saturating_add(rec.content.len());
                        let total: usize = st.params_held.values().sum();
                        if total > st.limits.params_per_conn {
                            let what = format!(
                                "the web server sent more than the runner's bound of {} of unended PARAMS on one connection ({} requests active); the runner closed the connection",
                                bounds::size(st.limits.params_per_conn),
                                st.params_held.len()
                            );
                            let _ = st.send(Ev::OverBound(what), &mut ctl, &mut deferred).await;
                            break 'conn;
                        }
                    }
                    let ev = match handled {
                        Ok(ev) => ev,
                        Err(e) => {
                            st.violations += 1;
                            if st.violations > bounds::VIOLATIONS_KEPT {
                                // Enough said: stop reading; the case's end closes it.
                                broken = true;
                                break;
                            }
                            if st.send(Ev::Violation(e), &mut ctl, &mut deferred).await == Flow::Stop {
                                break 'conn;
                            }
                            continue;
                        }
                    };
                    let out = match ev {
                        ApplicationEvent::Params { .. } => continue,
                        ApplicationEvent::GetValues { query } => {
                            let _ = app.get_values_result(&st.values, &query, &mut answers);
                            ApplicationEvent::GetValues { query }
                        }
                        ApplicationEvent::UnknownType { record_type, request_id } => {
                            let _ = app.unknown_type(record_type, &mut answers);
                            ApplicationEvent::UnknownType { record_type, request_id }
                        }
                        ApplicationEvent::ParamsEnd { request_id, block } => {
                            st.params_held.remove(&request_id.get());
                            if early.is_none() {
                                let armed = st.early.lock().unwrap_or_else(|p| p.into_inner()).take();
                                early = armed.map(|b| (request_id.get(), b, false));
                            }
                            ApplicationEvent::ParamsEnd { request_id, block }
                        }
                        ApplicationEvent::StdinEnd { request_id } => {
                            if let Some((id, _, ended)) = &mut early {
                                *ended |= *id == request_id.get();
                            }
                            ApplicationEvent::StdinEnd { request_id }
                        }
                        ApplicationEvent::Data { request_id, .. } => ApplicationEvent::Data {
                            request_id,
                            data: std::borrow::Cow::Borrowed(&[]),
                        },
                        ApplicationEvent::Ignored { .. } => {
                            let n = st.stats.ignored.fetch_add(1, Ordering::Relaxed) + 1;
                            if n == IGNORED_PER_CONN {
                                st.over_bound = true;
                                if st.send(Ev::OverBound(format!(
                                    "the web server sent {IGNORED_PER_CONN} records for request ids it never began (§3.3); the runner counts the rest and closes the connection at the end of the case"
                                )), &mut ctl, &mut deferred).await == Flow::Stop {
                                    break 'conn;
                                }
                                continue;
                            } else if n != 1 {
                                continue;
                            }
                            ev
                        }
                        ev => ev,
                    };
                    let out = Ev::Fcgi(out.into_owned());
                    if st.send(out, &mut ctl, &mut deferred).await == Flow::Stop {
                        break 'conn;
                    }
                }
                if !answers.is_empty()
                    && write_watching(&mut wr, &answers, false, &mut ctl, &mut deferred).await == Flow::Stop
                {
                    break;
                }
                if let Some((id, stdout, stdin_ended)) = early {
                    let (flow, close) = st.answer_early(rd.party_mut(), &mut wr, id, &stdout, &mut ctl, &mut deferred).await;
                    let ev = Ev::AnsweredEarly { id, stdin_ended, written: flow == Flow::Go };
                    if flow == Flow::Stop || st.send(ev, &mut ctl, &mut deferred).await == Flow::Stop {
                        break;
                    }
                    if close {
                        // No FCGI_KEEP_CONN: the runner is done writing
                        // (R-3.5-1), yet reads on, so that the rest of
                        // STDIN is taken and the server's close is seen.
                        let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
                    }
                }
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), wr.shutdown()).await;
    // The slot is free once the socket is; the event may wait for room.
    drop(permit);
    let _ = st
        .tx
        .send(Msg::Ev(
            AppEvent {
                conn: st.n,
                ev: Ev::Closed,
            },
            None,
        ))
        .await;
}
