//! How fast the notifications service turns ticket history into delivered mail.
//!
//! Starts the built `docket-auth`, `docket-tickets` and `docket-notifications` binaries as
//! processes of their own (SQLite in a temp dir), opens `EVENTS` tickets (default 10 000;
//! each `created` event mails its requester a confirmation) *before* the notifications
//! service starts, then starts it pointed at an SMTP sink in this process and measures the
//! time until every mail has been handed to the sink, mails per second, and the
//! notifications service's peak memory (VmHWM).
//!
//! Run: `scripts/bench-notifications` (builds the release binaries first).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use docket_testkit::smtp::SmtpSink;
use futures_util::{StreamExt as _, stream};

const TOKEN: &str = "bench-service-token-0123456789abcdef0123";

fn status_kib(pid: u32, field: &str) -> u64 {
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

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &Path, name: &str, port: u16, env: &[(&str, String)]) -> anyhow::Result<Proc> {
    let child = Command::new(bin.join(format!("docket-{name}")))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(Proc(child))
}

async fn wait_live(http: &reqwest::Client, port: u16) -> anyhow::Result<()> {
    for _ in 0..400 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/health/live"))
            .send()
            .await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("port {port} did not come up")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let bin = PathBuf::from(std::env::var("BIN_DIR").unwrap_or_else(|_| "target/release".into()));
    let dir = tempfile_dir()?;
    let http = reqwest::Client::new();
    let (auth_port, tickets_port, notify_port) = (
        docket_testkit::spare_port(),
        docket_testkit::spare_port(),
        docket_testkit::spare_port(),
    );
    let auth_url = format!("http://127.0.0.1:{auth_port}");
    let tickets_url = format!("http://127.0.0.1:{tickets_port}");
    let db = |name: &str| format!("sqlite://{}/{name}.db", dir.display());
    let _auth = spawn(
        &bin,
        "auth",
        auth_port,
        &[
            ("DATABASE_URL", db("auth")),
            ("DATA_DIR", dir.display().to_string()),
            ("SERVICE_TOKEN", TOKEN.into()),
        ],
    )?;
    let _tickets = spawn(
        &bin,
        "tickets",
        tickets_port,
        &[
            ("DATABASE_URL", db("tickets")),
            ("AUTH_URL", auth_url.clone()),
            ("SERVICE_TOKEN", TOKEN.into()),
        ],
    )?;
    wait_live(&http, auth_port).await?;
    wait_live(&http, tickets_port).await?;

    let reg: serde_json::Value = http
        .post(format!("{auth_url}/api/auth/register"))
        .json(&serde_json::json!({"email": "bench@example.com", "password": "password123", "name": "Bench"}))
        .send()
        .await?
        .json()
        .await?;
    let token = reg["access_token"].as_str().unwrap_or_default().to_owned();
    let t0 = Instant::now();
    let created = stream::iter(0..events)
        .map(|i| {
            let (http, token, url) = (http.clone(), token.clone(), tickets_url.clone());
            async move {
                http.post(format!("{url}/api/tickets"))
                    .bearer_auth(token)
                    .json(&serde_json::json!({"subject": format!("Bench {i}"), "description": "x"}))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(16)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    println!(
        "opened {created} tickets in {:.1} s (not measured below)",
        t0.elapsed().as_secs_f64()
    );
    // Past the feed's settle window, so the whole history is readable at once.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let sink = SmtpSink::start().await;
    let start = Instant::now();
    let notify = spawn(
        &bin,
        "notifications",
        notify_port,
        &[
            ("DATABASE_URL", db("notifications")),
            ("AUTH_URL", auth_url.clone()),
            ("TICKETS_URL", tickets_url.clone()),
            ("SERVICE_TOKEN", TOKEN.into()),
            ("NOTIFY_SIGNING_KEY", TOKEN.into()),
            ("EMAIL_BACKEND", "smtp".into()),
            ("SMTP_URL", sink.url()),
            ("NOTIFY_POLL_MS", "200".into()),
        ],
    )?;
    let pid = notify.0.id();
    let mut last = 0;
    let mut stalled = Instant::now();
    loop {
        let n = sink.messages().len();
        if n >= created {
            break;
        }
        if n != last {
            last = n;
            stalled = Instant::now();
        } else if stalled.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("stalled at {n} of {created} mails");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = start.elapsed().as_secs_f64();
    let mails = sink.messages();
    let unique: std::collections::HashSet<String> = mails.iter().map(|m| m.message_id()).collect();
    println!(
        "events {created}: all {} mails in the sink after {took:.2} s ({:.0} mails/s), {} distinct Message-IDs",
        mails.len(),
        mails.len() as f64 / took,
        unique.len()
    );
    println!(
        "notifications service peak memory: VmHWM {:.1} MiB",
        status_kib(pid, "VmHWM:") as f64 / 1024.0
    );
    drop(notify);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("docket-notify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
