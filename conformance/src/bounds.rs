//! The runner's bounds on what a peer can make it keep and how long a
//! peer can make it wait, in one place. Every default is a named constant
//! documented here; [`Bounds`] carries them into a run, overridable
//! through the suites' options structs.
//!
//! The memory bounds are sized so that every legitimate case fits with
//! room to spare (the largest response a case asks for is about 4 MiB)
//! and so that a whole run stays well under 256 MB whatever the peer
//! does: beyond a bound the runner counts bytes and discards them, and
//! says so in the case's outcome.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// STDOUT bytes kept per response (app suite). Past it, bytes are counted
/// in `Response::stdout_discarded` and dropped. 64 MiB: 16 times the
/// largest response a case asks for.
pub const STDOUT_KEPT: usize = 64 << 20;

/// STDERR bytes kept per response (app suite). 1 MiB: STDERR is for
/// diagnostics; cases look for one short line.
pub const STDERR_KEPT: usize = 1 << 20;

/// STDOUT and STDERR bytes kept at once by all the responses of a run
/// (app suite, concurrent cases included). 64 MiB, one maximal response:
/// no legitimate case comes near it (all of them together keep under
/// 16 MiB), and concurrent floods share it instead of keeping 64 MiB each
/// (measured: a flood on every request peaked at 224 MB RSS with 128 MiB).
pub const RESPONSES_KEPT: usize = 64 << 20;

/// Records kept whole in `Conn::received` per connection (app suite);
/// later ones are counted only. Cases look at record types and ids of a
/// handful of records.
pub const RECORDS_KEPT: usize = 4096;

/// Content bytes kept in `Conn::received` per connection (STDOUT content
/// is also in the response, so this only bounds the copy).
pub const RECORD_BYTES_KEPT: usize = 1 << 20;

/// Protocol violations kept per connection (app suite) or per collected
/// request (server suite); later ones are counted. Cases report the first.
pub const VIOLATIONS_KEPT: usize = 64;

/// STDIN bytes kept per collected request (server suite); past it they
/// are counted in `SeenRequest::stdin_discarded`. Same reasoning as
/// [`STDOUT_KEPT`]: the largest body a case sends is far smaller.
pub const STDIN_KEPT: usize = 64 << 20;

/// Per-record entries kept in `SeenRequest::records` (server suite).
pub const REQUEST_RECORDS_KEPT: usize = 4096;

/// PARAMS bytes one connection may hold unended across all its requests
/// (server suite). The codec bounds one request's PARAMS at 1 MiB; this
/// bounds their sum, so many unended requests cannot add up. Past it the
/// connection is failed with [`crate::server::harness::Ev::OverBound`].
pub const PARAMS_PER_CONN: usize = 8 << 20;

/// Requests active at once on one connection (server suite): the runner
/// announces it as FCGI_MAX_REQS and the codec refuses one more.
pub const MAX_REQS: usize = 16;

/// Connections the runner announces as FCGI_MAX_CONNS (server suite).
pub const MAX_CONNS: usize = 16;

/// Connections from the web server the runner serves at once (server
/// suite): twice what it announces, so a server that ignores
/// FCGI_MAX_CONNS a little still runs; further ones wait in the listen
/// backlog until one closes.
pub const CONNS_OPEN: usize = 2 * MAX_CONNS;

/// Events queued from the connections to the cases (server suite). A full
/// queue stops the connection reading its socket, so the web server feels
/// TCP flow control rather than the runner growing.
pub const EVENT_QUEUE: usize = 256;

/// Raw bytes one case's transcript keeps per connection and direction.
pub const TRANSCRIPT_BYTES_PER_DIR: usize = 256 << 10;

/// Raw bytes one case's transcript keeps over all its connections.
pub const TRANSCRIPT_BYTES: usize = 1 << 20;

/// Connections one case's transcript names; later ones are counted.
pub const TRANSCRIPT_CONNS: usize = 256;

/// Timed writes and reads one case's transcript keeps apart; past them,
/// bytes join their direction's last one and carry its (updated) time.
pub const TRANSCRIPT_EVENTS: usize = 4096;

/// Bytes of rendered transcript text per case. Reports keep every
/// case's transcript until the run ends, so this bounds them all.
pub const TRANSCRIPT_TEXT: usize = 1 << 20;

/// How long one case may run, as a function of `--timeout`: four timeouts
/// and two seconds. Every wait in a case is one timeout or less, a case
/// waits in at most a few places, and the two seconds absorb fixed costs
/// (connects, a reference peer's start). Both suites apply this rule, and
/// every read loop in a case stops at the case's deadline too, so a peer
/// that trickles records cannot hold a case beyond it.
pub fn case_budget(timeout: Duration) -> Duration {
    timeout
        .saturating_mul(4)
        .saturating_add(Duration::from_secs(2))
}

/// The deadline for a case's own reads: its budget less a margin (a
/// quarter of a timeout, at most one second) so that a read stopped at
/// the deadline can still be reported by the case itself, rather than the
/// budget's safety net cutting it off mid-sentence.
pub fn read_deadline(started: tokio::time::Instant, timeout: Duration) -> tokio::time::Instant {
    let margin = (timeout / 4).min(Duration::from_secs(1));
    started + case_budget(timeout).saturating_sub(margin)
}

/// How long one response is read, however steadily its records come:
/// two timeouts and a second (within the case's deadline too). A
/// legitimate response that takes longer is one whose every read came
/// just inside the timeout, many times over; a peer that trickles a
/// record every few hundred milliseconds forever is stopped here.
pub fn response_budget(timeout: Duration) -> Duration {
    timeout
        .saturating_mul(2)
        .saturating_add(Duration::from_secs(1))
}

/// Every bound of a run, defaulting to the constants above.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// [`STDOUT_KEPT`].
    pub stdout_kept: usize,
    /// [`STDERR_KEPT`].
    pub stderr_kept: usize,
    /// [`STDIN_KEPT`].
    pub stdin_kept: usize,
    /// [`PARAMS_PER_CONN`].
    pub params_per_conn: usize,
    /// The pool of kept response bytes ([`RESPONSES_KEPT`]); by default
    /// the process's ([`Pool::process`]).
    pub pool: Pool,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            stdout_kept: STDOUT_KEPT,
            stderr_kept: STDERR_KEPT,
            stdin_kept: STDIN_KEPT,
            params_per_conn: PARAMS_PER_CONN,
            pool: Pool::process(),
        }
    }
}

/// Bytes one size in a human unit, for outcomes ("64 MiB").
pub fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// A budget of bytes kept at once, shared by clones (by default one for
/// the whole process, [`Pool::process`]).
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    max: usize,
    used: AtomicUsize,
}

impl Pool {
    /// A pool of `max` bytes.
    pub fn new(max: usize) -> Pool {
        Pool {
            inner: Arc::new(PoolInner {
                max,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// The process's pool of [`RESPONSES_KEPT`] bytes, which every
    /// default [`Bounds`] shares: connections opened anywhere with the
    /// defaults (probes, capacity checks, cases, concurrent runs in one
    /// process) keep at most that much at once between them.
    pub fn process() -> Pool {
        static POOL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
        POOL.get_or_init(|| Pool::new(RESPONSES_KEPT)).clone()
    }

    /// The pool's size.
    pub fn max(&self) -> usize {
        self.inner.max
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes if they are free.
    fn take(&self, n: usize) -> bool {
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= self.inner.max)
            })
            .is_ok()
    }

    fn give(&self, n: usize) {
        let _ = self
            .inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            });
    }
}

/// Bytes held from a [`Pool`], given back when the last clone drops.
/// Equal to every other hold, so it does not disturb comparisons of the
/// structs that carry it.
#[derive(Debug, Clone, Default)]
pub struct Hold {
    inner: Option<Arc<HoldInner>>,
}

#[derive(Debug)]
struct HoldInner {
    pool: Pool,
    held: AtomicUsize,
}

impl Drop for HoldInner {
    fn drop(&mut self) {
        self.pool.give(self.held.load(Ordering::Acquire));
    }
}

impl PartialEq for Hold {
    fn eq(&self, _: &Hold) -> bool {
        true
    }
}

impl Eq for Hold {}

impl Hold {
    /// An empty hold on `pool`.
    pub fn on(pool: &Pool) -> Hold {
        Hold {
            inner: Some(Arc::new(HoldInner {
                pool: pool.clone(),
                held: AtomicUsize::new(0),
            })),
        }
    }

    /// Takes `n` more bytes from the pool; false (nothing taken) when the
    /// pool has not that many free. A hold on no pool takes anything.
    pub fn grow(&self, n: usize) -> bool {
        match &self.inner {
            None => true,
            Some(h) => {
                if n == 0 || h.pool.take(n) {
                    h.held.fetch_add(n, Ordering::AcqRel);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// The size of the pool it holds from (0 for a hold on no pool).
    pub fn pool_max(&self) -> usize {
        self.inner.as_ref().map_or(0, |h| h.pool.max())
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |h| h.held.load(Ordering::Acquire))
    }
}

#[allow(
    dead_code,
    reason = "was public before the library API narrowed; kept for the shells that will use it"
)]
/// A buffer that keeps at most `max` bytes, counting the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capped {
    /// The bytes kept, in order.
    pub kept: Vec<u8>,
    /// Bytes offered after the bound was reached, counted and dropped.
    pub discarded: u64,
}

#[allow(
    dead_code,
    reason = "was public before the library API narrowed; kept for the shells that will use it"
)]
impl Capped {
    /// Appends what fits under `max` (and, if given, what `hold` can take
    /// from its pool); counts the rest. Returns false when anything was discarded.
    pub fn push(&mut self, bytes: &[u8], max: usize, hold: Option<&Hold>) -> bool {
        keep(&mut self.kept, &mut self.discarded, bytes, max, hold) == Kept::All
    }
}

/// What [`keep`] did with the bytes it was offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// All kept.
    All,
    /// Some or all discarded: the buffer is at its own bound.
    OverBound,
    /// All discarded: the run-wide pool had no room.
    PoolFull,
}

/// Appends to `kept` what fits under `max` (and what `hold` can take from
/// its pool), adding the rest to `discarded`.
pub fn keep(
    kept: &mut Vec<u8>,
    discarded: &mut u64,
    bytes: &[u8],
    max: usize,
    hold: Option<&Hold>,
) -> Kept {
    let room = max.saturating_sub(kept.len());
    let mut n = room.min(bytes.len());
    let mut verdict = if n < bytes.len() {
        Kept::OverBound
    } else {
        Kept::All
    };
    if let Some(h) = hold {
        if n > 0 && !h.grow(n) {
            n = 0;
            verdict = Kept::PoolFull;
        }
    }
    kept.extend_from_slice(bytes.get(..n).unwrap_or_default());
    *discarded = discarded.saturating_add((bytes.len() - n) as u64);
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_four_timeouts_and_two_seconds() {
        assert_eq!(case_budget(Duration::from_secs(1)), Duration::from_secs(6));
        assert_eq!(case_budget(Duration::from_secs(3)), Duration::from_secs(14));
        let t0 = tokio::time::Instant::now();
        let d = read_deadline(t0, Duration::from_secs(1));
        assert_eq!(d - t0, Duration::from_millis(5750));
        assert_eq!(
            response_budget(Duration::from_secs(1)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn capped_keeps_the_first_bytes_and_counts_the_rest() {
        let mut c = Capped::default();
        assert!(c.push(b"abc", 5, None));
        assert!(!c.push(b"defg", 5, None));
        assert_eq!(c.kept, b"abcde");
        assert_eq!(c.discarded, 2);
        assert!(!c.push(b"xyz", 5, None));
        assert_eq!(c.discarded, 5);
    }

    #[test]
    fn holds_share_a_pool_and_give_back_on_drop() {
        let pool = Pool::new(10);
        let a = Hold::on(&pool);
        let b = Hold::on(&pool);
        let mut x = Capped::default();
        let mut y = Capped::default();
        assert!(x.push(&[1; 8], 100, Some(&a)));
        // Only 2 bytes left in the pool: the whole push is refused, not split.
        assert!(!y.push(&[2; 4], 100, Some(&b)));
        assert_eq!(y.discarded, 4);
        assert_eq!(pool.used(), 8);
        let a2 = a.clone();
        drop(a);
        assert_eq!(pool.used(), 8, "a clone still holds");
        drop(a2);
        assert_eq!(pool.used(), 0);
        assert!(y.push(&[2; 4], 100, Some(&b)));
        assert_eq!(b.held(), 4);
    }

    #[test]
    fn default_bounds_share_one_pool() {
        let (a, b) = (Bounds::default(), Bounds::default());
        assert!(Arc::ptr_eq(&a.pool.inner, &b.pool.inner));
        assert_eq!(a.pool.max(), RESPONSES_KEPT);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(256 << 10), "256 KiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
