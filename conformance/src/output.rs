//! Flags and output shared by both suites: format, JUnit file, transcripts,
//! case selection, timeouts, colour, expectations, repeats; and the exit
//! codes (0 nothing failed, 1 a case failed or was flaky, 2 usage or an
//! unusable target).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::preflight::Checked;
use crate::report::{self, Color, Report};
use crate::stdio;

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
    /// Also write the JSON report (schema `fcgi-conformance-report/1`) to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a self-contained HTML report to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
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
    /// Run the selection N times against the same target; a case whose verdict changes is flaky and fails the run.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=100))]
    pub repeat: u16,
    /// Warnings (SHOULD-level requirements broken) fail the run too: exit 1.
    /// Not with --expect, whose file already says which verdicts are fine.
    #[arg(long, conflicts_with = "expect")]
    pub strict: bool,
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
    stdio::err_line(&format!("fcgi-conformance: {msg}"));
    ExitCode::from(2)
}

/// Writes `text` to standard output and returns `code`; a reader that
/// stopped early is no error, any other write failure is exit 2.
pub fn write_or_fail(text: &str, code: ExitCode) -> ExitCode {
    match stdio::out(text) {
        Ok(_) => code,
        Err(e) => usage_error(&format!("cannot write to standard output: {e}")),
    }
}

/// Whether `--color` and the environment ask for colour: `auto` colours a
/// terminal unless `NO_COLOR` is set to anything non-empty (no-color.org).
pub fn color_for(choice: ColorChoice, no_color: Option<&std::ffi::OsStr>, tty: bool) -> Color {
    match choice {
        ColorChoice::Always => Color::Always,
        ColorChoice::Never => Color::Never,
        ColorChoice::Auto if no_color.is_some_and(|v| !v.is_empty()) => Color::Never,
        ColorChoice::Auto if tty => Color::Always,
        ColorChoice::Auto => Color::Never,
    }
}

/// Writes the report in every requested form and returns the exit code:
/// the report's own (a failed or flaky case is 1, and with `--strict` a
/// warned one), or the comparison with `--expect` when there is one (a
/// flaky case still fails). A reader that
/// closes standard output early only ends the writing there.
pub fn emit(report: &Report, args: &RunArgs, checked: &Checked) -> ExitCode {
    let mut report = report.clone();
    report.options.repeat = usize::from(args.repeat);
    report.options.strict = args.strict;
    report.options.expect = args.expect.as_ref().map(|p| p.display().to_string());
    let report = &report;
    let color = color_for(
        args.color,
        std::env::var_os("NO_COLOR").as_deref(),
        std::io::stdout().is_terminal(),
    );
    let text = match args.format {
        Format::Text => report::to_text(report, color),
        Format::Json => report::to_json(report) + "\n",
    };
    if let Err(e) = stdio::out(&text) {
        return usage_error(&format!("cannot write the report to standard output: {e}"));
    }
    let files = [
        (&args.junit, report::to_junit as fn(&Report) -> String),
        (&args.json, |r: &Report| report::to_json(r) + "\n"),
        (&args.html, report::to_html),
    ];
    for (path, render) in files {
        if let Some(path) = path {
            if let Err(e) = std::fs::write(path, render(report)) {
                return usage_error(&format!("cannot write {}: {e}", path.display()));
            }
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
    let mut code = report.exit_code_with(args.strict);
    if let Some(exp) = &checked.expectations {
        let diffs = exp.differences(report);
        if diffs.is_empty() {
            stdio::err_line(&format!(
                "expectations: all {} verdicts as expected",
                report.cases.len()
            ));
            code = 0;
        } else {
            for d in &diffs {
                stdio::err_line(&format!("expectations: {d}"));
            }
            stdio::err_line(&format!(
                "expectations: {} difference(s) from {}",
                diffs.len(),
                exp.path.display()
            ));
            code = 1;
        }
        if !report.flaky.is_empty() {
            code = 1;
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
            c.info.section.short(),
            c.info.requirement_ids(" "),
            c.outcome.verdict.name(),
            c.outcome.detail
        );
        std::fs::write(dir.join(transcript_file_name(c.info.id)), head + body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_turns_auto_off_and_leaves_always_on() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert_eq!(color_for(ColorChoice::Auto, None, true), Color::Always);
        assert_eq!(color_for(ColorChoice::Auto, set, true), Color::Never);
        // An empty NO_COLOR is as if unset.
        assert_eq!(color_for(ColorChoice::Auto, empty, true), Color::Always);
        assert_eq!(color_for(ColorChoice::Auto, None, false), Color::Never);
        assert_eq!(color_for(ColorChoice::Always, set, false), Color::Always);
        assert_eq!(color_for(ColorChoice::Never, None, true), Color::Never);
    }
}
