//! The spawner against real processes: groups, grandchildren, tails.

use super::registry::groups;
use super::*;

/// Every test is bounded: a hung child fails the test, never hangs it.
const LIMIT: Duration = Duration::from_secs(15);

fn sh(cmd: &str) -> Child {
    Child::start(Spec {
        cmd: cmd.into(),
        stdin: None,
        env: vec![("SPAWN_TEST".into(), "yes".into())],
    })
    .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"))
}

/// Whether `pid` is still a process that is not a zombie.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

/// Waits for the child to print a PID on stdout.
async fn printed_pid(c: &Child) -> u32 {
    for _ in 0..500 {
        if let Some(p) = c
            .stdout_tail()
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
        {
            return p;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("no PID printed; stdout {:?}", c.stdout_tail());
}

#[tokio::test]
async fn a_child_that_ignores_term_is_killed() {
    tokio::time::timeout(LIMIT, async {
        let mut c = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
        while !c.stdout_tail().contains("ready") {
            tokio::time::sleep(POLL).await;
        }
        let pgid = c.pid().unwrap_or_default();
        let s = c.stop().await;
        assert!(s.killed, "{s:?}");
        assert!(s.group_empty, "{s:?}");
        assert_eq!(
            s.exit,
            Some(ExitDesc::Signal {
                signal: 9,
                core: false
            })
        );
        assert!(!group_alive(i32::try_from(pgid).unwrap_or_default()));
        assert!(!groups().contains(&i32::try_from(pgid).unwrap_or_default()));
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}

#[tokio::test]
async fn a_grandchild_is_stopped_with_the_group() {
    tokio::time::timeout(LIMIT, async {
        let mut c = sh("sleep 100 & echo $!; wait");
        let grandchild = printed_pid(&c).await;
        assert!(running(grandchild));
        let s = c.stop().await;
        assert!(!s.killed, "TERM is enough here: {s:?}");
        assert!(s.group_empty);
        assert!(!running(grandchild), "the grandchild {grandchild} is left");
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}

#[tokio::test]
async fn a_grandchild_left_after_its_parent_exits_is_killed() {
    tokio::time::timeout(LIMIT, async {
        // The first process exits at once; what it forked ignores TERM.
        let mut c = sh("(trap '' TERM; exec sleep 100) & echo $!; exit 0");
        let grandchild = printed_pid(&c).await;
        assert_eq!(
            c.exited_within(Duration::from_millis(300)).await,
            None,
            "a live grandchild keeps the child alive"
        );
        let s = c.stop().await;
        assert_eq!(s.exit, Some(ExitDesc::Status(0)));
        assert!(s.killed && s.group_empty, "{s:?}");
        assert!(!running(grandchild), "the grandchild {grandchild} is left");
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}

#[tokio::test]
async fn the_stderr_tail_is_bounded_and_ends_with_the_last_bytes() {
    tokio::time::timeout(LIMIT, async {
        let mut c = sh(
            "i=0; while [ $i -lt 2000 ]; do echo line-$i >&2; i=$((i+1)); done; \
             echo \"last words $SPAWN_TEST\" >&2; echo out; exit 3",
        );
        let e = c.exited_within(Duration::from_secs(10)).await;
        assert_eq!(e, Some(ExitDesc::Status(3)));
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("exited with status 3")
        );
        let tail = c.stderr_tail();
        assert!(tail.len() <= TAIL_BYTES);
        assert!(tail.len() > TAIL_BYTES / 2, "{} bytes", tail.len());
        assert!(tail.ends_with("last words yes\n"), "{tail:?}");
        assert!(!tail.contains("line-0\n"));
        assert_eq!(c.stdout_tail(), "out\n");
        let line = c.output_line();
        assert!(
            !line.contains('\n') && line.ends_with("last words yes\""),
            "{line}"
        );
        assert!(line.chars().count() < 420, "{line}");
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}

#[tokio::test]
async fn a_death_by_signal_is_described_and_a_restart_counted() {
    tokio::time::timeout(LIMIT, async {
        let mut c = sh("ulimit -c 0; echo dying >&2; kill -ABRT $$");
        let e = c.exited_within(Duration::from_secs(5)).await;
        assert_eq!(
            e.as_ref().map(ToString::to_string).as_deref(),
            Some("was killed by signal 6 (SIGABRT)")
        );
        assert_eq!(c.output_line(), "stderr: \"dying\"");
        c.restart().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.restarts(), 1);
        let e = c.exited_within(Duration::from_secs(5)).await;
        assert!(
            matches!(e, Some(ExitDesc::Signal { signal: 6, .. })),
            "{e:?}"
        );
        // The tail is the current run's; the one before is kept apart.
        assert_eq!(c.run(), 2);
        assert_eq!(c.stderr_tail(), "dying\n");
        assert_eq!(
            c.previous_tails(),
            Some((1, "dying\n".to_string(), String::new()))
        );
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}

#[tokio::test]
async fn a_restart_gets_the_same_listening_socket() {
    tokio::time::timeout(LIMIT, async {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let fd: OwnedFd = l.try_clone().unwrap_or_else(|e| panic!("{e}")).into();
        let mut c = Child::start(Spec {
            cmd: "readlink /proc/$$/fd/0".into(),
            stdin: Some(fd),
            env: Vec::new(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.exited_within(Duration::from_secs(5)).await,
            Some(ExitDesc::Status(0))
        );
        let first = c.stdout_tail();
        c.restart().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.exited_within(Duration::from_secs(5)).await,
            Some(ExitDesc::Status(0))
        );
        let second = c.stdout_tail();
        assert!(first.starts_with("socket:"), "{first:?}");
        assert_eq!(first, second);
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}

#[tokio::test]
async fn dropping_a_child_stops_its_group() {
    tokio::time::timeout(LIMIT, async {
        let c = sh("sleep 100 & echo $!; wait");
        let grandchild = printed_pid(&c).await;
        drop(c);
        assert!(!running(grandchild), "the grandchild {grandchild} is left");
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}

#[test]
fn exits_are_described_in_words() {
    assert_eq!(ExitDesc::Status(0).to_string(), "exited with status 0");
    assert_eq!(
        ExitDesc::Status(134).to_string(),
        "exited with status 134 (a shell's way of saying signal 6, SIGABRT)"
    );
    assert_eq!(
        ExitDesc::Signal {
            signal: 11,
            core: true
        }
        .to_string(),
        "was killed by signal 11 (SIGSEGV), core dumped"
    );
}

#[test]
fn output_is_squeezed_into_one_bounded_line() {
    assert_eq!(one_line("a\n\n  b \nc\n", 100), "a | b | c");
    assert_eq!(one_line("0123456789", 4), "...6789");
    let t = Tail::default();
    t.push(&vec![b'x'; TAIL_BYTES * 2]);
    t.push(b"end");
    let text = t.text();
    assert_eq!(text.len(), TAIL_BYTES);
    assert!(text.ends_with("xend"));
}

#[test]
fn an_empty_command_is_refused() {
    let e = Child::start(Spec {
        cmd: "  ".into(),
        stdin: None,
        env: Vec::new(),
    });
    assert!(e.is_err());
}

#[tokio::test]
async fn tails_do_not_pile_up_across_restarts() {
    tokio::time::timeout(LIMIT, async {
        // Each run writes 6 KiB and its number; a process that escaped the
        // group keeps the first run's pipe and writes into it later.
        let mark = std::env::temp_dir().join(format!("fcgi-spawn-tails-{}", std::process::id()));
        let mut c = sh(&format!(
            "if mkdir {} 2>/dev/null; then setsid sh -c 'sleep 1; echo late >&2' </dev/null & fi; \
             head -c 6144 /dev/zero | tr '\\0' x >&2; echo >&2; echo run-$$ >&2; exit 3",
            mark.display()
        ));
        for run in 1..=4 {
            let e = c.exited_within(Duration::from_secs(5)).await;
            assert_eq!(e, Some(ExitDesc::Status(3)), "run {run}");
            let tail = c.stderr_tail();
            assert!(tail.len() <= TAIL_BYTES, "{}", tail.len());
            assert_eq!(tail.matches("run-").count(), 1, "run {run}: {tail:?}");
            if run < 4 {
                c.restart().await.unwrap_or_else(|e| panic!("{e}"));
            }
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!c.stderr_tail().contains("late"), "{:?}", c.stderr_tail());
        let (run, err, _) = c.previous_tails().unwrap_or_default();
        assert_eq!(run, 3);
        assert_eq!(err.matches("run-").count(), 1, "{err:?}");
        let _ = std::fs::remove_dir(&mark);
    })
    .await
    .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
}
