//! Flags and output shared by both suites: format, JUnit file, transcripts,
//! case selection, timeouts, colour; and the exit codes (0 nothing failed,
//! 1 a case failed, 2 usage or unreachable target).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::report::{self, Color, Report};

/// Report format on standard output.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Text grouped by spec section.
    Text,
    /// JSON (schema `fcgi-conformance-report/1`).
    Json,
}

/// When to colour the text report.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    /// When standard output is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Flags common to `app` and `server`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Seconds to wait for any connect or read before a case gives up.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    pub timeout: f64,
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write each case's annotated wire transcript (both directions) into this directory.
    #[arg(long, value_name = "DIR")]
    pub transcript: Option<PathBuf>,
    /// Run only cases whose id contains PATTERN (or matches it, with `*`); repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub only: Vec<String>,
    /// Skip cases whose id contains PATTERN (or matches it, with `*`); repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub skip: Vec<String>,
    /// Colour the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Compare verdicts with an expectations file (case id -> verdict, JSON object); differences fail the run.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
}

impl RunArgs {
    /// The timeout as a duration, or a usage error.
    pub fn timeout(&self) -> Result<Duration, String> {
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 3600.0) {
            return Err(format!(
                "--timeout {} is out of range: give seconds between 0.001 and 3600",
                self.timeout
            ));
        }
        Ok(Duration::from_secs_f64(self.timeout))
    }
}

/// Prints one line saying what went wrong and what to do; exit code 2.
pub fn usage_error(msg: &str) -> ExitCode {
    eprintln!("fcgi-conformance: {msg}");
    ExitCode::from(2)
}

/// Writes the report in every requested form and returns the exit code.
pub fn emit(report: &Report, args: &RunArgs) -> ExitCode {
    let color = match args.color {
        ColorChoice::Always => Color::Always,
        ColorChoice::Never => Color::Never,
        ColorChoice::Auto if std::io::stdout().is_terminal() => Color::Always,
        ColorChoice::Auto => Color::Never,
    };
    match args.format {
        Format::Text => print!("{}", report::to_text(report, color)),
        Format::Json => println!("{}", report::to_json(report)),
    }
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, report::to_junit(report)) {
            return usage_error(&format!("cannot write {}: {e}", path.display()));
        }
    }
    if let Some(dir) = &args.transcript {
        if let Err(e) = write_transcripts(report, dir) {
            return usage_error(&format!(
                "cannot write transcripts to {}: {e}",
                dir.display()
            ));
        }
    }
    let mut code = report.exit_code();
    if let Some(path) = &args.expect {
        match check_expectations(report, path) {
            Ok(diffs) if diffs.is_empty() => {
                eprintln!(
                    "expectations: all {} verdicts as expected",
                    report.cases.len()
                );
                code = 0;
            }
            Ok(diffs) => {
                for d in &diffs {
                    eprintln!("expectations: {d}");
                }
                eprintln!(
                    "expectations: {} difference(s) from {}",
                    diffs.len(),
                    path.display()
                );
                code = 1;
            }
            Err(e) => return usage_error(&e),
        }
    }
    ExitCode::from(code as u8)
}

/// File name for a case's transcript: the id with `/` turned into `_`.
pub fn transcript_file_name(id: &str) -> String {
    id.replace(['/', '\\'], "_") + ".txt"
}

fn write_transcripts(report: &Report, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for c in &report.cases {
        let body = c.transcript.as_deref().unwrap_or("(no bytes exchanged)\n");
        let head = format!(
            "# {} — {}\n# §{} {}\n# verdict: {} — {}\n\n",
            c.info.id,
            c.info.title,
            c.info.section,
            c.info.requirements.join(" "),
            c.outcome.verdict.name(),
            c.outcome.detail
        );
        std::fs::write(dir.join(transcript_file_name(c.info.id)), head + body)?;
    }
    Ok(())
}

/// Compares the report's verdicts with an expectations file: a JSON object
/// mapping case id to verdict name. Cases run but not listed, and listed
/// but not run (unless deselected), are differences too.
pub fn check_expectations(report: &Report, path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read expectations {}: {e}", path.display()))?;
    let want: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a JSON object of case id -> verdict: {e}",
                path.display()
            )
        })?;
    let got = report.verdicts();
    let mut diffs = Vec::new();
    for (id, v) in &got {
        match want.get(id) {
            Some(w) if w == v.name() => {}
            Some(w) => diffs.push(format!("{id}: expected {w}, got {}", v.name())),
            None => diffs.push(format!("{id}: not in expectations, got {}", v.name())),
        }
    }
    Ok(diffs)
}
