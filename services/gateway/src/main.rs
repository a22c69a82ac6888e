//! `docket-gateway`: serve (default) or `healthcheck`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    docket_gateway::cli::run(std::env::args().skip(1).collect()).await
}
