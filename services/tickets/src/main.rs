//! `docket-tickets`: serve (default), `healthcheck`, `openapi`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    docket_tickets::cli::run(std::env::args().skip(1).collect()).await
}
