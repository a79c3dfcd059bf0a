//! The `fcgi-conformance` command line: its flags and subcommands live in
//! the library (`fcgi_conformance::cli`, behind the `cli` feature), so the
//! suites' internals need not be public for the binary's sake.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    fcgi_conformance::cli::main()
}
