//! Output tails: the last bytes of a child's stdout and stderr.

use super::*;

/// The last [`TAIL_BYTES`] of one output stream.
#[derive(Debug, Clone, Default)]
pub(super) struct Tail(Arc<Mutex<VecDeque<u8>>>);

impl Tail {
    pub(super) fn push(&self, bytes: &[u8]) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let keep = bytes.len().min(TAIL_BYTES);
        t.extend(&bytes[bytes.len() - keep..]);
        let excess = t.len().saturating_sub(TAIL_BYTES);
        t.drain(..excess);
    }

    pub(super) fn text(&self) -> String {
        let t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (a, b) = t.as_slices();
        String::from_utf8_lossy(&[a, b].concat()).into_owned()
    }

    /// Copies `r` into the tail until it ends, so the child never blocks on a full pipe.
    pub(super) fn drain_from<R: AsyncRead + Unpin + Send + 'static>(
        &self,
        mut r: R,
    ) -> JoinHandle<()> {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = r.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.push(buf.get(..n).unwrap_or_default());
            }
        })
    }
}

/// Squeezes output into one line of at most `max` characters, keeping the end.
pub(super) fn one_line(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join(" | ");
    let count = joined.chars().count();
    if count <= max {
        joined
    } else {
        let skip = count - max;
        format!("...{}", joined.chars().skip(skip).collect::<String>())
    }
}
