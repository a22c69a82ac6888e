//! `docket-tickets`: serve (default), `healthcheck`, `openapi`.

use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: a request allocates many small, short-lived objects
/// (rows, JSON, headers), and with glibc's malloc/free were about a fifth of the CPU of a
/// ticket list (mimalloc took the list from 5 532 to 6 377 requests/s; docs/perf/tickets.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    docket_tickets::cli::run(std::env::args().skip(1).collect()).await
}
