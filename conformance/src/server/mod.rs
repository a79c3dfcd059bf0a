//! `fcgi-conformance server`: the runner plays the FastCGI application
//! behind a web server and judges what the server sends and how it copes
//! with what an application may send back.

use std::process::ExitCode;

use clap::Args;

use crate::case::CaseInfo;
use crate::output::RunArgs;

/// Flags of `fcgi-conformance server`.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Common flags.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Every case of the web-server suite.
pub fn cases() -> Vec<CaseInfo> {
    Vec::new()
}

/// Runs the suite; the exit code follows [`crate::output::emit`].
pub async fn main(args: ServerArgs) -> ExitCode {
    let _ = args;
    crate::output::usage_error("the server suite is not built yet")
}
