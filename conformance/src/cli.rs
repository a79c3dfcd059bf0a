//! The `fcgi-conformance` command line: the clap definitions of every
//! subcommand and the dispatch to each. Not part of the library's API;
//! `src/main.rs` calls [`main`].

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::case::CaseInfo;
use crate::output::{usage_error, write_or_fail};
use crate::{app, dump_cmd, explore, load, proxy, server};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

/// Conformance suite for FastCGI 1.0 applications and web servers.
#[derive(Parser, Debug)]
#[command(name = "fcgi-conformance", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum DumpFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Annotate captured FastCGI bytes, one line per record.
    Dump {
        /// File to read, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
        format: DumpFormat,
        /// Leave out byte offsets (and anything else that depends on where
        /// a record sits), for snapshots that a padding change does not rewrite.
        #[arg(long)]
        no_offsets: bool,
        /// In a pcap/pcapng capture, dump the connections to or from this
        /// TCP port (repeatable); without it, FastCGI connections are found
        /// by their first bytes.
        #[arg(long = "port", value_name = "N")]
        ports: Vec<u16>,
    },
    /// Test a FastCGI application: the runner plays the web server.
    App(app::AppArgs),
    /// Run the bundled reference FastCGI application (Responder, Authorizer, Filter).
    ReferenceApp(app::ReferenceArgs),
    /// Test a web server: the runner plays the FastCGI application.
    Server(server::ServerArgs),
    /// Load a FastCGI application and check every response (h2load-like).
    Load(load::LoadArgs),
    /// Explore an application with generated conversations; shrink and save what fails.
    Explore(explore::ExploreArgs),
    /// Run a conversation file (as explore saves) again against an application.
    Replay(explore::replay::ReplayArgs),
    /// Relay a web server's connections to an application, checking both directions live.
    Proxy(proxy::ProxyArgs),
    /// List the cases with their spec sections and requirement IDs.
    List {
        /// Which suite (both when omitted).
        #[arg(value_enum)]
        suite: Option<SuiteChoice>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
        format: DumpFormat,
        /// List the spec's requirements with the cases that cover each, instead of the cases.
        #[arg(long)]
        requirements: bool,
        /// A requirements file to read instead of the one built in (a copy of
        /// spec/requirements.toml).
        #[arg(long, value_name = "FILE")]
        spec: Option<PathBuf>,
    },
    /// Render the interop matrix (implementation × case) as markdown or HTML.
    Matrix {
        /// One column each, in order: `[NAME[@VERSION]=]FILE`, a JSON report
        /// (`--json`) or an expectations file (case id -> verdict).
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<String>,
        /// Output format (HTML cells link to the case in the HTML report
        /// beside each JSON report, when there is one).
        #[arg(long, value_enum, default_value_t = MatrixFormat::Markdown)]
        format: MatrixFormat,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `fcgi-conformance man | man -l -`.
    Man {
        /// The page of this subcommand (e.g. `app`) instead of the whole command's.
        subcommand: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum MatrixFormat {
    Markdown,
    Html,
}

/// `matrix INPUT…`: every input is read before anything is written.
fn run_matrix(
    inputs: &[String],
    format: MatrixFormat,
    output: Option<&std::path::Path>,
) -> ExitCode {
    use crate::report::matrix;
    let mut columns = Vec::with_capacity(inputs.len());
    for i in inputs {
        match matrix::read_column(i) {
            Ok(c) => columns.push(c),
            Err(e) => return usage_error(&format!("matrix: {e}")),
        }
    }
    let mut table = app::cases();
    table.extend(server::cases());
    let text = match format {
        MatrixFormat::Markdown => matrix::to_markdown(&table, &columns),
        MatrixFormat::Html => matrix::to_html(&table, &columns),
    };
    match output {
        None => write_or_fail(&text, ExitCode::SUCCESS),
        Some(p) => match std::fs::write(p, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(&format!("cannot write {}: {e}", p.display())),
        },
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum SuiteChoice {
    App,
    Server,
}

fn run_requirements(cases: &[CaseInfo], spec: Option<PathBuf>, format: DumpFormat) -> ExitCode {
    use crate::requirements;
    let reqs = match spec
        .as_deref()
        .map_or_else(requirements::embedded, requirements::load)
    {
        Ok(r) => r,
        Err(e) => return usage_error(&e),
    };
    let cov = requirements::coverage(&reqs, cases);
    let mut text = String::new();
    match format {
        DumpFormat::Json => {
            let rows: Vec<serde_json::Value> = cov
                .iter()
                .map(|(r, by)| serde_json::json!({"requirement": r, "cases": by}))
                .collect();
            let _ = writeln!(
                text,
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
        }
        DumpFormat::Text => {
            for (r, by) in &cov {
                let _ = writeln!(
                    text,
                    "{:<9} {:<6} {:<11} {}",
                    r.id,
                    r.level,
                    r.party,
                    if by.is_empty() {
                        "(no case)".to_string()
                    } else {
                        by.join(", ")
                    }
                );
            }
            let covered = cov.iter().filter(|(_, by)| !by.is_empty()).count();
            let must = cov.iter().filter(|(r, _)| r.level == "MUST").count();
            let must_covered = cov
                .iter()
                .filter(|(r, by)| r.level == "MUST" && !by.is_empty())
                .count();
            let _ = writeln!(
                text,
                "{} requirements, {covered} named by a case; MUST: {must_covered} of {must} (codec tests cover more: see the traceability test)",
                cov.len()
            );
        }
    }
    write_or_fail(&text, ExitCode::SUCCESS)
}

fn run_list(suite: Option<SuiteChoice>, format: DumpFormat) -> ExitCode {
    let mut all: Vec<CaseInfo> = Vec::new();
    if suite != Some(SuiteChoice::Server) {
        all.extend(app::cases());
    }
    if suite != Some(SuiteChoice::App) {
        all.extend(server::cases());
    }
    all.sort_by(|a, b| {
        a.id.split('/')
            .next()
            .cmp(&b.id.split('/').next())
            .then(a.section.cmp(&b.section))
            .then(a.id.cmp(b.id))
    });
    let mut text = String::new();
    match format {
        DumpFormat::Json => {
            let _ = writeln!(
                text,
                "{}",
                serde_json::to_string_pretty(&all).unwrap_or_default()
            );
        }
        DumpFormat::Text => {
            for c in &all {
                let _ = writeln!(
                    text,
                    "{:<44} §{:<5} {:<28} {}",
                    c.id,
                    c.section.short(),
                    c.requirement_ids(","),
                    c.title
                );
            }
            let _ = writeln!(text, "{} cases", all.len());
        }
    }
    write_or_fail(&text, ExitCode::SUCCESS)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| usage_error(&format!("cannot start the async runtime: {e}")))
}

fn run_dump(file: &str, format: DumpFormat, no_offsets: bool, ports: &[u16]) -> ExitCode {
    let options = fcgi_proto::dump::RenderOptions {
        format: match format {
            DumpFormat::Text => fcgi_proto::dump::Format::Text,
            DumpFormat::Json => fcgi_proto::dump::Format::Json,
        },
        offsets: !no_offsets,
        ..fcgi_proto::dump::RenderOptions::default()
    };
    let stdout = std::io::stdout();
    let result = if file == "-" {
        dump_cmd::run(std::io::stdin().lock(), options, ports, stdout.lock())
    } else {
        match std::fs::File::open(PathBuf::from(file)) {
            Ok(f) => dump_cmd::run(f, options, ports, stdout.lock()),
            Err(e) => {
                return usage_error(&format!(
                "cannot read {file}: {e} (give a readable capture file, or - for standard input)"
            ))
            }
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(dump_cmd::DumpError::Refused(why)) => usage_error(&format!(
            "{} {why}",
            if file == "-" { "standard input" } else { file }
        )),
        Err(dump_cmd::DumpError::Read(e)) if file == "-" => {
            usage_error(&format!("cannot read standard input: {e}"))
        }
        Err(dump_cmd::DumpError::Read(e)) => usage_error(&format!(
            "cannot read {file}: {e} (give a readable capture file, or - for standard input)"
        )),
        Err(dump_cmd::DumpError::Write(e)) => {
            usage_error(&format!("cannot write to standard output: {e}"))
        }
    }
}

/// `completions SHELL`: the script clap_complete writes for these flags.
fn run_completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut cmd, "fcgi-conformance", &mut bytes);
    write_or_fail(&String::from_utf8_lossy(&bytes), ExitCode::SUCCESS)
}

/// `man [SUBCOMMAND]`: the page clap_mangen writes for these flags, of
/// the whole command (its subcommands listed) or of one subcommand.
fn run_man(subcommand: Option<&str>) -> ExitCode {
    let cmd = Cli::command();
    let page = match subcommand {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => {
                // The page's title is the display name (`fcgi-conformance-app`,
                // as git names its pages); its synopsis is the bin name.
                sub.clone()
                    .display_name(format!("fcgi-conformance-{name}"))
                    .bin_name(format!("fcgi-conformance {name}"))
                    .version(env!("CARGO_PKG_VERSION"))
            }
            None => {
                let names: Vec<&str> = cmd
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .map(|s| s.get_name())
                    .collect();
                return usage_error(&format!(
                    "man: no subcommand {name:?} (give one of {})",
                    names.join(", ")
                ));
            }
        },
    };
    let mut bytes = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut bytes) {
        return usage_error(&format!("cannot render the man page: {e}"));
    }
    write_or_fail(&String::from_utf8_lossy(&bytes), ExitCode::SUCCESS)
}

/// Whether a parse error is `--jobs` given to `server` (the first word that
/// is not a flag), which earns its own message.
fn server_jobs(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue};
    let jobs = matches!(
        e.get(ContextKind::InvalidArg),
        Some(ContextValue::String(a)) if a.split(['=', ' ']).next() == Some("--jobs")
    );
    // args_os: a word that is not UTF-8 is no reason to panic.
    jobs && std::env::args_os()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'))
        .is_some_and(|w| w == "server")
}

/// Parses the process arguments and runs the subcommand they name.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            let first = e
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string();
            if server_jobs(&e) {
                return usage_error(&format!(
                    "{first}: leave it out, `server` runs its cases one at a time \
                     (--jobs belongs to `app`)"
                ));
            }
            return usage_error(&format!("{first} (see fcgi-conformance --help)"));
        }
    };
    // Whatever --spawn starts is killed on SIGINT/SIGTERM, on a panic and at the end.
    let _cleanup = matches!(
        cli.command,
        Command::App(_)
            | Command::Server(_)
            | Command::Load(_)
            | Command::Explore(_)
            | Command::Replay(_)
    )
    .then(crate::spawn::install_cleanup);
    match cli.command {
        Command::Dump {
            file,
            format,
            no_offsets,
            ports,
        } => run_dump(&file, format, no_offsets, &ports),
        Command::List {
            suite,
            format,
            requirements: true,
            spec,
        } => {
            let mut cases = Vec::new();
            if suite != Some(SuiteChoice::Server) {
                cases.extend(app::cases());
            }
            if suite != Some(SuiteChoice::App) {
                cases.extend(server::cases());
            }
            run_requirements(&cases, spec, format)
        }
        Command::List { suite, format, .. } => run_list(suite, format),
        Command::Matrix {
            inputs,
            format,
            output,
        } => run_matrix(&inputs, format, output.as_deref()),
        Command::Completions { shell } => run_completions(shell),
        Command::Man { subcommand } => run_man(subcommand.as_deref()),
        Command::App(args) => match runtime() {
            Ok(rt) => rt.block_on(app::main(args)),
            Err(code) => code,
        },
        Command::ReferenceApp(args) => match runtime() {
            Ok(rt) => rt.block_on(app::reference_main(args)),
            Err(code) => code,
        },
        Command::Load(args) => match runtime() {
            Ok(rt) => rt.block_on(load::main(args)),
            Err(code) => code,
        },
        Command::Explore(args) => match runtime() {
            Ok(rt) => rt.block_on(explore::main(args)),
            Err(code) => code,
        },
        Command::Replay(args) => match runtime() {
            Ok(rt) => rt.block_on(explore::replay::main(args)),
            Err(code) => code,
        },
        Command::Server(args) => match runtime() {
            Ok(rt) => rt.block_on(server::main(args)),
            Err(code) => code,
        },
        Command::Proxy(args) => match runtime() {
            Ok(rt) => rt.block_on(proxy::main(args)),
            Err(code) => code,
        },
    }
}
