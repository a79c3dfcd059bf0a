//! How fast `fcgi-conformance explore` goes (docs/performance.md, "Explore"):
//! conversations per second against the bundled reference application, and
//! the time to find and shrink a typical finding, each over several runs
//! with their median and spread.
//!
//! ```text
//! explore-bench [--bin PATH] [--runs N] [--conversations N]
//! ```
//!
//! - Throughput: `explore --seed I --conversations N` (I = 1..=runs) against
//!   the faithful reference application in process; the rate is the report's
//!   own (conversations over its `elapsed_s`, which leaves out the start).
//! - Shrinking: `explore --spawn "BIN reference-app --fault cut-long-values"
//!   --seed 21 --findings 1`, the same run each time (a value over 127 bytes
//!   cut: a fault of the app self-check, found in the first conversation and
//!   shrunk, R-3.4-2); the figure is the report's `elapsed_s`: that
//!   conversation plus every live attempt of the shrink.
//!
//! The runner is a release build by default (`target/release/fcgi-conformance`,
//! or `$FCGI_CONFORMANCE_BIN`, or `--bin`). Prints a markdown table. A
//! speed is measured here and never asserted anywhere.
#![forbid(unsafe_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Longest one explore run may take before it is killed.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// Largest report read.
const MAX_REPORT: u64 = 16 << 20;
/// Most runs of each measurement.
const MAX_RUNS: usize = 100;
/// Most conversations per throughput run.
const MAX_CONVERSATIONS: u64 = 100_000;

struct Flags {
    bin: PathBuf,
    runs: usize,
    conversations: u64,
}

fn flags() -> Result<Flags, String> {
    let default_bin = std::env::var_os("FCGI_CONFORMANCE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/fcgi-conformance")
        });
    let mut f = Flags {
        bin: default_bin,
        runs: 5,
        conversations: 300,
    };
    let mut args = std::env::args().skip(1);
    // Bounded: each turn takes one or two arguments.
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--bin" => f.bin = PathBuf::from(value()?),
            "--runs" => {
                f.runs = value()?
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_RUNS).contains(n))
                    .ok_or(format!("--runs takes 1 to {MAX_RUNS}"))?
            }
            "--conversations" => {
                f.conversations = value()?
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_CONVERSATIONS).contains(n))
                    .ok_or(format!("--conversations takes 1 to {MAX_CONVERSATIONS}"))?
            }
            _ => {
                return Err(format!(
                "unknown argument {a}: explore-bench [--bin PATH] [--runs N] [--conversations N]"
            ))
            }
        }
    }
    if !f.bin.is_file() {
        return Err(format!(
            "no runner at {}: cargo build --release -p fcgi-conformance first (or --bin PATH)",
            f.bin.display()
        ));
    }
    Ok(f)
}

/// Runs the runner with `args`, its report on stdout into `dir`, bounded by
/// [`RUN_LIMIT`]; returns the parsed report (exit 0 or 1: a finding is fine).
fn explore(bin: &Path, args: &[&str], dir: &Path) -> Result<serde_json::Value, String> {
    let out = dir.join("report.json");
    let file = std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::from(file))
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t0.elapsed() < RUN_LIMIT => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("explore {args:?} took over {RUN_LIMIT:?}: killed"));
            }
            Err(e) => return Err(format!("waiting for explore: {e}")),
        }
    };
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(format!("explore {args:?} ended with {status}"));
    }
    let mut text = String::new();
    std::fs::File::open(&out)
        .and_then(|f| f.take(MAX_REPORT).read_to_string(&mut text))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("the report is not JSON ({e})"))
}

/// Median, least and most of `v` (NaN for an empty `v`).
fn spread(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let at = |i: usize| v.get(i).copied().unwrap_or(f64::NAN);
    let median = if n % 2 == 1 {
        at(n / 2)
    } else {
        (at((n / 2).wrapping_sub(1)) + at(n / 2)) / 2.0
    };
    (median, at(0), at(n.wrapping_sub(1)))
}

fn run(f: &Flags, dir: &Path) -> Result<(), String> {
    let bin = f.bin.to_str().ok_or("the runner's path is not UTF-8")?;
    let found = dir.join("found");
    let found = found.to_str().ok_or("the temporary path is not UTF-8")?;
    let n = f.conversations.to_string();
    let mut rates = Vec::with_capacity(f.runs);
    println!("| run | conversations | seconds | conversations/s | findings |");
    println!("|---|---|---|---|---|");
    for i in 1..=f.runs {
        let seed = i.to_string();
        let r = explore(
            &f.bin,
            &[
                "explore",
                "--seed",
                &seed,
                "--conversations",
                &n,
                "--format",
                "json",
                "--out",
                found,
            ],
            dir,
        )?;
        let c = r["conversations"].as_f64().unwrap_or(0.0);
        let s = r["elapsed_s"].as_f64().unwrap_or(f64::NAN);
        let findings = r["findings"].as_array().map_or(0, Vec::len);
        println!(
            "| reference-app, seed {seed} | {c} | {s:.2} | {:.1} | {findings} |",
            c / s
        );
        rates.push(c / s);
    }
    let spawn = format!("{bin} reference-app --fault cut-long-values");
    let mut times = Vec::with_capacity(f.runs);
    println!();
    println!("| run | finding | found in conversation | attempts | records | seconds |");
    println!("|---|---|---|---|---|---|");
    for i in 1..=f.runs {
        let r = explore(
            &f.bin,
            &[
                "explore",
                "--spawn",
                &spawn,
                "--seed",
                "21",
                "--conversations",
                "100",
                "--findings",
                "1",
                "--timeout",
                "2",
                "--format",
                "json",
                "--out",
                found,
            ],
            dir,
        )?;
        let g = &r["findings"][0];
        let s = r["elapsed_s"].as_f64().unwrap_or(f64::NAN);
        println!(
            "| shrink {i}, cut-long-values | {} {} | {} | {} | {} | {s:.3} |",
            g["finding"]["property"].as_str().unwrap_or("none"),
            g["finding"]["requirement"].as_str().unwrap_or(""),
            g["conversation"],
            g["attempts"],
            g["records"],
        );
        times.push(s);
    }
    let (m, lo, hi) = spread(&mut rates);
    println!();
    println!(
        "conversations/s over {} runs of {}: median {m:.1}, least {lo:.1}, most {hi:.1}",
        f.runs, f.conversations
    );
    let (m, lo, hi) = spread(&mut times);
    println!(
        "find and shrink cut-long-values over {} runs: median {:.0} ms, least {:.0} ms, most {:.0} ms",
        f.runs,
        m * 1e3,
        lo * 1e3,
        hi * 1e3
    );
    Ok(())
}

fn main() -> ExitCode {
    let f = match flags() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("explore-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("explore-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("explore-bench: {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let r = run(&f, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("explore-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
