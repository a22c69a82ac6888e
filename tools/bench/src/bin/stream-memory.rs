//! Measures the gateway's memory while a large body streams through it.
//!
//! Starts the built `docket-gateway` binary as its own process (so its memory is its own), in
//! front of an in-process stand-in service that reads and counts every byte. Sends
//! `STREAM_MIB` (default 50) MiB chunked, samples the gateway's RSS while it flows, and prints
//! the baseline, the peak, and the throughput.
//!
//! Run: `scripts/bench-gateway` (builds the release binary first).

use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt as _;
use poem::{Body, Route, handler, post};

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[handler]
async fn sink(body: Body) -> String {
    let mut stream = body.into_bytes_stream();
    let mut n = 0u64;
    while let Some(Ok(chunk)) = stream.next().await {
        n += chunk.len() as u64;
    }
    n.to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mib: usize = std::env::var("STREAM_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let binary =
        std::env::var("GATEWAY_BIN").unwrap_or_else(|_| "target/release/docket-gateway".into());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)?;
    tokio::spawn(
        poem::Server::new_with_acceptor(acceptor)
            .run(Route::new().at("/api/tickets/:id/attachments", post(sink))),
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new(&binary)
        .env("PORT", port.to_string())
        .env("ATTACHMENTS_URL", &upstream)
        .env("LOG_LEVEL", "warn")
        .env("RATE_LIMIT_API", "4000000000/1")
        .env("RATE_LIMIT_UPLOADS", "4000000000/1")
        // One "file" of the whole size fits the gateway's upload bound.
        .env("MAX_UPLOAD_BYTES", (mib << 20).to_string())
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if http.get(format!("{base}/health/live")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let baseline = rss_kib(pid, "VmRSS:");

    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    const CHUNK: usize = 64 * 1024;
    let chunks = mib * 1024 * 1024 / CHUNK;
    let body = futures_util::stream::iter(
        (0..chunks).map(|i| Ok::<_, std::io::Error>(vec![(i % 251) as u8; CHUNK])),
    );
    let started = Instant::now();
    let resp = http
        .post(format!("{base}/api/tickets/bench/attachments"))
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await?;
    let received: u64 = resp.text().await?.trim().parse().unwrap_or(0);
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.await?;
    let hwm = rss_kib(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();

    let sent = (chunks * CHUNK) as u64;
    anyhow::ensure!(
        received == sent,
        "the service received {received} of {sent} bytes"
    );
    let peak = peak.load(Ordering::Relaxed);
    println!("gateway streaming {mib} MiB (chunked) through to a service:");
    println!("  bytes delivered      {received}");
    println!(
        "  time                 {:.2} s ({:.0} MiB/s)",
        elapsed.as_secs_f64(),
        mib as f64 / elapsed.as_secs_f64()
    );
    println!("  gateway RSS baseline {:.1} MiB", baseline as f64 / 1024.0);
    println!(
        "  gateway RSS peak     {:.1} MiB (sampled every 5 ms; VmHWM {:.1} MiB)",
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "  growth while streaming {:.1} MiB for a {mib} MiB body",
        (peak.saturating_sub(baseline)) as f64 / 1024.0
    );
    Ok(())
}
