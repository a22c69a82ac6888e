//! What the rate limiter costs per request, against a real Redis.
//!
//! Prints the latency of one decision (p50/p99 over sequential calls, Redis on loopback) and
//! the throughput of decisions per second with 64 concurrent callers, then the same for the
//! in-process limiter. Bounded in count; loopback only.
//!
//! Run: `scripts/bench-ratelimit` (REDIS_URL defaults to redis://127.0.0.1:6379).

use std::time::{Duration, Instant};

use docket_gateway::ratelimit::{Limiter, Mode, Rate, RedisDown};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

async fn run(name: &str, limiter: Limiter) -> anyhow::Result<()> {
    let rate = Rate {
        limit: 1_000_000,
        period: Duration::from_secs(60),
    };
    for i in 0..500 {
        limiter
            .decide("warm", &format!("c{i}"), rate, Mode::Take)
            .await?;
    }
    let n = 20_000;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let d = limiter
            .decide("bench", &format!("client-{}", i % 1000), rate, Mode::Take)
            .await?;
        samples.push(started.elapsed());
        anyhow::ensure!(d.allowed);
    }
    samples.sort();
    println!(
        "{name}: one decision, {n} sequential: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        pct(&samples, 0.50),
        pct(&samples, 0.99),
        pct(&samples, 1.0)
    );

    let per_task = 2_000;
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    let _ = limiter
                        .decide("burst", &format!("c{t}-{}", i % 50), rate, Mode::Take)
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let total = 64 * per_task;
    println!(
        "{name}: {total} decisions from 64 concurrent callers: {:.0} decisions/s",
        total as f64 / started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(name != "redis" || limiter.shared(), "redis was not used");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("docket-bench:{}", std::process::id());
    run(
        "redis",
        Limiter::new(
            Some(&url),
            &prefix,
            Duration::from_millis(500),
            RedisDown::Closed,
        )?,
    )
    .await?;
    run(
        "in-process",
        Limiter::new(
            None,
            &prefix,
            Duration::from_millis(500),
            RedisDown::Fallback,
        )?,
    )
    .await?;
    Ok(())
}
