//! `docket-auth`: serve (default), `healthcheck`, `openapi`, `create-user`.

use std::process::ExitCode;

/// mimalloc: the services allocate many small, short-lived objects per request (rows, JSON,
/// headers), which glibc malloc serves noticeably slower (see services/tickets/BENCH.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    docket_auth::cli::run(std::env::args().skip(1).collect()).await
}
