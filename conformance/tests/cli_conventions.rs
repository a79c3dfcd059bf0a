//! What people expect of a command line beyond its suites: shell
//! completions and a man page generated from the clap definitions,
//! `--strict` (a warning fails the run), and a recap of failures and
//! warnings at the end of the text report. (`NO_COLOR` is pinned by the
//! unit test of `output::color_for` and by tests/cli_contract.rs.)

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fcgi-conformance"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every visible subcommand, as `--help` lists them.
const SUBCOMMANDS: &[&str] = &[
    "dump",
    "app",
    "server",
    "explore",
    "replay",
    "proxy",
    "list",
    "completions",
    "man",
];

#[test]
fn completions_name_every_subcommand_and_flag() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "completions {shell}");
        let text = stdout(&o);
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "completions {shell} lack {sub}");
        }
        for flag in ["strict", "junit", "connect", "requirements"] {
            assert!(text.contains(flag), "completions {shell} lack --{flag}");
        }
    }
}

/// bash parses the script it is given, and the script registers a completer.
#[test]
fn bash_completion_script_loads() {
    let o = run(&["completions", "bash"]);
    let script = stdout(&o);
    let check = Command::new("bash")
        .args(["-c", &format!("{script}\ncomplete -p fcgi-conformance")])
        .output();
    let Ok(check) = check else {
        eprintln!("SKIPPED: no bash on this machine");
        return;
    };
    assert_eq!(
        check.status.code(),
        Some(0),
        "bash refused the script: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(stdout(&check).contains("fcgi-conformance"));
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn man_page_is_roff_with_the_subcommands() {
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH fcgi-conformance"),
        "{page}"
    );
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(sub), "the man page lacks {sub}");
    }
    // The hidden self-check flag stays out, as it does in --help.
    let app = stdout(&run(&["man", "app"]));
    assert!(app.contains(".TH fcgi-conformance-app"), "{app}");
    assert!(app.contains("strict") && app.contains("connect"), "{app}");
    assert!(!app.contains("deliberate defects"), "{app}");
    let bad = run(&["man", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("give one of"));
}

/// A warning alone exits 0; with `--strict` it exits 1. A run with
/// neither failures nor warnings exits 0 under `--strict` too.
#[test]
fn strict_makes_warnings_fail_the_run() {
    let warned = [
        "app",
        "--fault",
        "unaligned",
        "--only",
        "app/3.3/aligned-output",
        "--color",
        "never",
    ];
    let o = run(&warned);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("WARN app/3.3/aligned-output"),
        "{}",
        stdout(&o)
    );
    let mut strict = warned.to_vec();
    strict.push("--strict");
    assert_eq!(run(&strict).status.code(), Some(1));
    let clean = run(&[
        "app",
        "--only",
        "app/3.3/aligned-output",
        "--strict",
        "--color",
        "never",
    ]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    let server = run(&[
        "server",
        "--only",
        "server/3.3",
        "--strict",
        "--color",
        "never",
    ]);
    assert_eq!(server.status.code(), Some(0), "{}", stdout(&server));
}

#[test]
fn strict_and_expect_do_not_mix() {
    let o = run(&["app", "--strict", "--expect", "x.json"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The end of the text report repeats each failure and warning on one
/// line, failures first, after the cases and before the counts.
#[test]
fn text_report_ends_with_a_recap() {
    let o = run(&[
        "app",
        "--fault",
        "unaligned",
        "--fault",
        "ignore-unknown-type",
        "--only",
        "app/3.3/aligned-output",
        "--only",
        "app/4.2/unknown-type",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    let (_, tail) = text
        .split_once("\nfailures and warnings\n")
        .unwrap_or_else(|| panic!("no recap in:\n{text}"));
    let lines: Vec<&str> = tail.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{tail}");
    assert!(
        lines[0].starts_with("  FAIL app/4.2/unknown-type  "),
        "{tail}"
    );
    assert!(
        lines[1].starts_with("  WARN app/3.3/aligned-output  "),
        "{tail}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.len() > "  WARN app/3.3/aligned-output  ".len()),
        "{tail}"
    );
    assert!(
        tail.contains("passed, 1 failed"),
        "the counts follow the recap: {tail}"
    );
    // A clean run has no recap.
    let clean = stdout(&run(&[
        "app",
        "--only",
        "app/4.2/unknown-type",
        "--color",
        "never",
    ]));
    assert!(!clean.contains("failures and warnings"), "{clean}");
}
