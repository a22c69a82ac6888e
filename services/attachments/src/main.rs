//! `docket-attachments`: serve (default), `healthcheck`, `openapi`, `sweep`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    docket_attachments::cli::run(std::env::args().skip(1).collect()).await
}
