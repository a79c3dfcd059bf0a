//! The live progress line: while cases run and standard error is a
//! terminal, one line there says how far the run is and how it goes, e.g.
//! `[12/52] app/3.4/long-values  pass 10 fail 1 warn 0 info 1 skip 0`,
//! redrawn in place after each case and erased at the end. Nothing is
//! written when standard error is not a terminal.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use crate::case::CaseResult;
use crate::report::Summary;

/// Told of each case as it finishes; the runners call it once per case.
pub type Observer = Arc<dyn Fn(&CaseResult) + Send + Sync>;

/// Calls the observer, if there is one, with a finished case.
pub fn notify(observer: &Option<Observer>, result: &CaseResult) {
    if let Some(o) = observer {
        o(result);
    }
}

#[allow(
    dead_code,
    reason = "was public before the library API narrowed; kept for the shells that will use it"
)]
/// Calls the observer, if there is one, with the last of `results`.
pub fn notify_last(observer: &Option<Observer>, results: &[CaseResult]) {
    if let Some(r) = results.last() {
        notify(observer, r);
    }
}

/// `\r` then ANSI "erase the whole line".
const ERASE: &str = "\r\x1b[2K";

/// Width used when the terminal's cannot be read.
const DEFAULT_WIDTH: usize = 80;

/// The progress line's text for `done` of `total` cases, the last being
/// `id`, clipped to `width` columns (the id loses its start first, so the
/// counts stay readable). `run` is `(k, n)` for the k-th of n repeats.
pub fn line(
    done: usize,
    total: usize,
    id: &str,
    counts: &Summary,
    run: Option<(usize, usize)>,
    width: usize,
) -> String {
    let head = match run {
        Some((k, n)) if n > 1 => format!("run {k}/{n} [{done}/{total}] "),
        _ => format!("[{done}/{total}] "),
    };
    let tail = format!(
        "  pass {} fail {} warn {} info {} skip {}",
        counts.pass, counts.fail, counts.warn, counts.info, counts.skip
    );
    // Stay one column short of the edge so the cursor never wraps.
    let room = width
        .saturating_sub(1)
        .saturating_sub(head.chars().count() + tail.chars().count());
    let n = id.chars().count();
    let shown: String = if n <= room {
        id.to_string()
    } else if room == 0 {
        String::new()
    } else {
        let keep = room - 1;
        std::iter::once('…')
            .chain(id.chars().skip(n - keep))
            .collect()
    };
    let mut out = head + &shown + &tail;
    if out.chars().count() >= width.max(1) {
        out = out.chars().take(width.saturating_sub(1)).collect();
    }
    out
}

#[derive(Default)]
struct State {
    total: usize,
    done: usize,
    counts: Summary,
    run: Option<(usize, usize)>,
    drawn: bool,
}

#[cfg(feature = "cli")]
/// The live progress line on standard error.
#[derive(Clone)]
pub struct Progress {
    state: Arc<Mutex<State>>,
}

#[cfg(feature = "cli")]
impl Progress {
    /// A progress line for `repeat` runs of `total` cases each, or `None`
    /// when standard error is not a terminal (then nothing extra is written).
    pub fn on_terminal(total: usize, repeat: usize) -> Option<Progress> {
        std::io::stderr().is_terminal().then(|| Progress {
            state: Arc::new(Mutex::new(State {
                total,
                run: Some((1, repeat)),
                ..State::default()
            })),
        })
    }

    /// An observer that redraws the line after each case.
    pub fn observer(&self) -> Observer {
        let state = self.state.clone();
        Arc::new(move |r: &CaseResult| {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            // The case after a whole selection starts the next repeat afresh.
            if s.done >= s.total && s.total > 0 {
                s.done = 0;
                s.counts = Summary::default();
                s.run = s.run.map(|(k, n)| (k + 1, n.max(k + 1)));
            }
            s.done += 1;
            s.counts.count(r.outcome.verdict);
            let width = terminal_size::terminal_size_of(std::io::stderr())
                .map(|(w, _)| usize::from(w.0))
                .filter(|w| *w > 0)
                .unwrap_or(DEFAULT_WIDTH);
            let text = line(s.done, s.total, r.info.id, &s.counts, s.run, width);
            // A closed or failing stderr only loses the progress line.
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{ERASE}{text}");
            let _ = err.flush();
            s.drawn = true;
        })
    }

    /// Erases the line, leaving the terminal as it was before the run.
    pub fn finish(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{ERASE}");
            let _ = err.flush();
            s.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Summary {
        Summary {
            pass: 10,
            fail: 1,
            warn: 0,
            info: 1,
            skip: 0,
        }
    }

    #[test]
    fn the_line_names_position_case_and_counts() {
        assert_eq!(
            line(12, 52, "app/3.4/long-values", &counts(), None, 120),
            "[12/52] app/3.4/long-values  pass 10 fail 1 warn 0 info 1 skip 0"
        );
        assert_eq!(
            line(3, 9, "app/4/x", &counts(), Some((2, 3)), 120),
            "run 2/3 [3/9] app/4/x  pass 10 fail 1 warn 0 info 1 skip 0"
        );
        // One repeat is shown like none.
        assert_eq!(
            line(1, 1, "a", &Summary::default(), Some((1, 1)), 80),
            "[1/1] a  pass 0 fail 0 warn 0 info 0 skip 0"
        );
    }

    #[test]
    fn a_narrow_terminal_clips_the_id_from_its_start_and_never_wraps() {
        let id = "server/6.3/authorizer-variable-prefix-stripped";
        let l = line(40, 52, id, &counts(), None, 70);
        assert_eq!(l.chars().count(), 69, "{l}");
        assert!(l.starts_with("[40/52] …"), "{l}");
        assert!(l.contains("-stripped  pass 10 fail 1"), "{l}");
        // Narrower than the counts: cut at the edge, still one line.
        let l = line(40, 52, id, &counts(), None, 20);
        assert_eq!(l.chars().count(), 19, "{l}");
        assert!(!line(1, 1, id, &counts(), None, 0).contains('\n'));
    }
}
