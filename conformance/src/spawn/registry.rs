//! The registry of live process groups, and what kills them when the
//! runner ends: a signal, a panic or the end of `main`.

use super::*;

static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

pub(super) fn groups() -> MutexGuard<'static, Vec<i32>> {
    GROUPS.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn register(pgid: i32) {
    groups().push(pgid);
}

pub(super) fn unregister(pgid: i32) {
    groups().retain(|g| *g != pgid);
}

/// Signals a group, only while it is registered: once a group is known
/// empty its number may belong to someone else.
pub(super) fn signal_group(pgid: i32, sig: Signal) {
    let g = groups();
    if g.contains(&pgid) {
        let _ = killpg(Pid::from_raw(pgid), sig);
    }
}

/// Whether a process other than a zombie is left in the group. Orphaned
/// zombies count as gone: they hold no socket and, where PID 1 does not
/// reap, would never leave.
pub fn group_alive(pgid: i32) -> bool {
    match killpg(Pid::from_raw(pgid), None) {
        Err(Errno::ESRCH) => false,
        Err(_) => true,
        Ok(()) => live_members(pgid).is_none_or(|n| n > 0),
    }
}

/// Non-zombie processes in the group, from /proc (`None` where there is none).
fn live_members(pgid: i32) -> Option<usize> {
    let dir = std::fs::read_dir("/proc").ok()?;
    let mut n = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid pgrp ...": comm may hold anything, so split after its last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, _ppid, pgrp) = (f.next(), f.next(), f.next());
        if pgrp.and_then(|p| p.parse::<i32>().ok()) == Some(pgid) && state != Some("Z") {
            n += 1;
        }
    }
    Some(n)
}

/// Kills every registered group: SIGTERM, a short wait, SIGKILL. For the
/// signal handler, the panic hook and the end of `main`; never blocks on
/// the registry (a panic may have happened while it was held).
pub fn kill_all() {
    let snapshot: Vec<i32> = match GROUPS.try_lock() {
        Ok(g) => g.clone(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if snapshot.is_empty() {
        return;
    }
    for g in &snapshot {
        let _ = killpg(Pid::from_raw(*g), Signal::SIGTERM);
    }
    let wait_empty = |limit: Duration| {
        let t0 = Instant::now();
        while snapshot.iter().any(|g| group_alive(*g)) && t0.elapsed() < limit {
            std::thread::sleep(POLL);
        }
    };
    wait_empty(Duration::from_millis(500));
    for g in &snapshot {
        if group_alive(*g) {
            let _ = killpg(Pid::from_raw(*g), Signal::SIGKILL);
        }
    }
    wait_empty(Duration::from_millis(500));
    if let Ok(mut g) = GROUPS.try_lock() {
        g.retain(|p| group_alive(*p));
    }
}

/// The signal the runner was stopped by (0: none yet).
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// Whether the runner got SIGINT/SIGTERM and is killing its children.
pub fn stopping() -> bool {
    SIGNALLED.load(Ordering::SeqCst) != 0
}

/// Kills the registered groups when dropped (the end of `main`).
#[derive(Debug)]
pub struct Cleanup(());

impl Drop for Cleanup {
    /// After a SIGINT/SIGTERM, `main` may end first (the killed child ends
    /// its wait): the exit code is still the signal's, so wait for the
    /// handler to exit, and exit in its place if it does not.
    fn drop(&mut self) {
        kill_all();
        let sig = SIGNALLED.load(Ordering::SeqCst);
        if sig != 0 {
            std::thread::sleep(Duration::from_secs(3));
            std::process::exit(128 + sig);
        }
    }
}

/// Installs, once per process, what kills the registered groups when the
/// runner ends abnormally: a SIGINT/SIGTERM handler (which then exits with
/// 130/143) and a panic hook (before the previous hook runs). The returned
/// guard kills them at the end of `main`.
pub fn install_cleanup() -> Cleanup {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            kill_all();
            previous(info);
        }));
        let watch = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])
        .map_err(|e| e.to_string())
        .and_then(|mut signals| {
            std::thread::Builder::new()
                .name("spawn-cleanup".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        SIGNALLED.store(sig, Ordering::SeqCst);
                        eprintln!(
                            "fcgi-conformance: stopped by {}; stopping what --spawn started",
                            signal_name(sig).unwrap_or("a signal")
                        );
                        kill_all();
                        std::process::exit(128 + sig);
                    }
                })
                .map(drop)
                .map_err(|e| e.to_string())
        });
        if let Err(e) = watch {
            eprintln!("fcgi-conformance: warning: cannot watch SIGINT/SIGTERM ({e}); a signal may leave --spawn children running");
        }
    });
    Cleanup(())
}
