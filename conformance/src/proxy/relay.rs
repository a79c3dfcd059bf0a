//! The relay of one connection: each direction copies what it reads to the
//! other side at once, and hands a copy to the checker through a bounded
//! queue ([`Tap`]). Handing over never waits: when the queue holds
//! [`QUEUE_BYTES`] (or [`QUEUE_MESSAGES`] copies), the copies of that
//! connection stop for good and the check says so; the bytes relayed are
//! never held back or changed because of a check.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::conversation::Dir;
use crate::target::Stream;

/// Bytes a connection's checker may have queued before copies stop.
pub const QUEUE_BYTES: usize = 4 << 20;
/// Copies a connection's checker may have queued before copies stop.
pub const QUEUE_MESSAGES: usize = 4096;
/// The most one read takes.
pub const READ_BUF: usize = 64 << 10;

/// What the relay hands the checker. [`Dir::ToTarget`] is the web
/// server's direction, [`Dir::FromTarget`] the application's.
#[derive(Debug)]
pub enum Copy {
    /// Bytes read from one side, in the order of the reads.
    Bytes(Dir, Vec<u8>),
    /// That side closed (or shut down writing).
    Closed(Dir),
}

#[derive(Debug, Default)]
struct TapState {
    queued: AtomicUsize,
    stopped: AtomicBool,
    handed: AtomicU64,
}

/// The sending end of a connection's checker queue.
#[derive(Debug, Clone)]
pub struct Tap {
    tx: mpsc::Sender<Copy>,
    state: Arc<TapState>,
}

/// The checker's end of the queue.
#[derive(Debug)]
pub struct Taken {
    rx: mpsc::Receiver<Copy>,
    state: Arc<TapState>,
}

/// A new queue.
pub fn tap() -> (Tap, Taken) {
    let (tx, rx) = mpsc::channel(QUEUE_MESSAGES);
    let state = Arc::new(TapState::default());
    (
        Tap {
            tx,
            state: state.clone(),
        },
        Taken { rx, state },
    )
}

impl Tap {
    fn stop(&self) {
        self.state.stopped.store(true, Ordering::Relaxed);
    }

    /// Hands a copy of `bytes` over, or stops the copies if the queue is full.
    fn bytes(&self, dir: Dir, bytes: &[u8]) {
        if self.state.stopped.load(Ordering::Relaxed) {
            return;
        }
        let n = bytes.len();
        if self.state.queued.fetch_add(n, Ordering::Relaxed) + n > QUEUE_BYTES {
            self.state.queued.fetch_sub(n, Ordering::Relaxed);
            return self.stop();
        }
        if self.tx.try_send(Copy::Bytes(dir, bytes.to_vec())).is_err() {
            self.state.queued.fetch_sub(n, Ordering::Relaxed);
            return self.stop();
        }
        self.state.handed.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn closed(&self, dir: Dir) {
        if !self.state.stopped.load(Ordering::Relaxed)
            && self.tx.try_send(Copy::Closed(dir)).is_err()
        {
            self.stop();
        }
    }
}

impl Taken {
    /// The next copy; `None` once the relay ended (or stopped the copies).
    pub async fn next(&mut self) -> Option<Copy> {
        if self.state.stopped.load(Ordering::Relaxed) {
            return None;
        }
        let c = self.rx.recv().await?;
        if let Copy::Bytes(_, b) = &c {
            self.state.queued.fetch_sub(b.len(), Ordering::Relaxed);
        }
        // A copy taken after the stop may follow a dropped one: not judged.
        (!self.state.stopped.load(Ordering::Relaxed)).then_some(c)
    }

    /// Bytes handed over before the copies stopped, if they did.
    pub fn stopped_after(&self) -> Option<u64> {
        self.state
            .stopped
            .load(Ordering::Relaxed)
            .then(|| self.state.handed.load(Ordering::Relaxed))
    }
}

/// Bytes relayed each way.
#[derive(Debug, Default)]
pub struct Relayed {
    /// From the web server to the application.
    pub to_application: AtomicU64,
    /// From the application to the web server.
    pub to_web_server: AtomicU64,
}

async fn pump<R, W>(mut from: R, mut to: W, dir: Dir, tap: &Tap, count: &AtomicU64)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; READ_BUF];
    // Bounded by the peers: it ends when `from` closes or either side fails.
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default();
        tap.bytes(dir, chunk);
        count.fetch_add(n as u64, Ordering::Relaxed);
        if to.write_all(chunk).await.is_err() {
            break;
        }
    }
    tap.closed(dir);
    let _ = to.shutdown().await;
}

/// Relays between the web server (`client`) and the application
/// (`upstream`) until both directions have closed or `stop` turns true.
pub async fn relay(
    client: Stream,
    upstream: Stream,
    tap: Tap,
    counts: &Relayed,
    mut stop: watch::Receiver<bool>,
) {
    let (cr, cw) = tokio::io::split(client);
    let (ur, uw) = tokio::io::split(upstream);
    let both = async {
        tokio::join!(
            pump(cr, uw, Dir::ToTarget, &tap, &counts.to_application),
            pump(ur, cw, Dir::FromTarget, &tap, &counts.to_web_server),
        )
    };
    tokio::select! {
        _ = both => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_stops_the_copies_and_says_after_how_many_bytes() {
        let (tap, taken) = tap();
        let chunk = vec![0u8; READ_BUF];
        for _ in 0..QUEUE_BYTES / READ_BUF {
            tap.bytes(Dir::ToTarget, &chunk);
        }
        assert_eq!(taken.stopped_after(), None);
        // One more byte than the queue holds: copies stop, nothing blocks.
        tap.bytes(Dir::FromTarget, b"x");
        assert_eq!(taken.stopped_after(), Some(QUEUE_BYTES as u64));
        tap.bytes(Dir::FromTarget, &chunk);
        tap.closed(Dir::ToTarget);
        assert_eq!(taken.stopped_after(), Some(QUEUE_BYTES as u64));
    }

    #[test]
    fn copies_taken_free_their_room() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let (tap, mut taken) = tap();
            let chunk = vec![0u8; READ_BUF];
            for _ in 0..3 * QUEUE_BYTES / READ_BUF {
                tap.bytes(Dir::ToTarget, &chunk);
                assert!(matches!(taken.next().await, Some(Copy::Bytes(Dir::ToTarget, b)) if b.len() == READ_BUF));
            }
            tap.closed(Dir::FromTarget);
            assert!(matches!(taken.next().await, Some(Copy::Closed(Dir::FromTarget))));
            drop(tap);
            assert!(taken.next().await.is_none());
            assert_eq!(taken.stopped_after(), None);
        });
    }
}
