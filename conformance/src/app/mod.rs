//! `fcgi-conformance app`: the runner plays the web server and judges a
//! FastCGI application against the spec.

use std::process::ExitCode;

use clap::Args;

use crate::case::CaseInfo;
use crate::output::RunArgs;

/// Flags of `fcgi-conformance app`.
#[derive(Args, Debug, Clone)]
pub struct AppArgs {
    /// Common flags.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Every case of the application suite.
pub fn cases() -> Vec<CaseInfo> {
    Vec::new()
}

/// Runs the suite; the exit code follows [`crate::output::emit`].
pub async fn main(args: AppArgs) -> ExitCode {
    let _ = args;
    crate::output::usage_error("the app suite is not built yet")
}
