//! `docket-auth`: serve (default), `healthcheck`, `openapi`, `create-user`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    docket_auth::cli::run(std::env::args().skip(1).collect()).await
}
