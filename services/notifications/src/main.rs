//! `docket-notifications`: serve (default), `healthcheck`, `openapi`, `migrate`.

use std::process::ExitCode;

/// mimalloc, as the other services (many small, short-lived allocations per request and
/// per rendered mail).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    docket_notifications::cli::run(std::env::args().skip(1).collect()).await
}
