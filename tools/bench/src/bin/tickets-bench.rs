//! `tickets-bench`: seeds a large data set and measures the tickets service under load.
//!
//! For each backend asked for (SQLite, Postgres) it: creates fresh auth and tickets
//! databases; starts the real `docket-auth` (release build, next to this binary) so it
//! migrates; seeds `--users` users into auth (a few real accounts the driver signs in as, the
//! rest as plain rows) and `--tickets` tickets with about `--comments` comments each (10 %
//! internal) and a `created` event each, straight into the tickets database with multi-row
//! INSERTs in large transactions; builds the search documents with the operator's
//! `docket-tickets reindex`; runs ANALYZE (Postgres only); starts `docket-tickets`; then drives it with `--concurrency`
//! connections over loopback for each scenario (first page, a filter, a text search, one
//! ticket, a create, a PATCH; plus a search for a common word, the worst case for
//! newest-first search), each bounded by `--requests` and `--seconds`, printing
//! requests/s, p50 and p99, and finally the tickets service's peak memory (anonymous and VmHWM).
//!
//! The driver calls the gateway, which forwards to the tickets service (rate limits raised out
//! of reach). It knows the services only from outside: their binaries, their HTTP APIs, the
//! `reindex` command and the tables it seeds. The query plans of the list shapes are checked by
//! the tickets service's own tests (`repo::plans`). Figures and findings: docs/perf/tickets.md.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use sqlx::{Executor as _, Row as _};
use uuid::Uuid;

/// The database the services run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A value of a seeded row.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    Null,
}

/// Now, in unix milliseconds (how the services store time).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

const HELP: &str = "usage: tickets-bench [--backend sqlite|postgres|both] [--tickets N] [--users N]
       [--comments N] [--concurrency N] [--requests N] [--seconds N] [--pg-url URL] [--dir PATH]
       [--rate R | --load F] [--only floor,list,filter,search,search-common,get,create,patch,
       comment,comment-long,writes,mixed]
       [--db-connections N] [--tickets-log DIRECTIVE] [--gateway-log DIRECTIVE]
       [--direct] [--driver-threads N] [--driver-spin-us US]
defaults: both, 1000000 tickets, 1000 users, 3 comments, 64 connections, 20000 requests or
15 s per scenario, postgres://postgres@127.0.0.1:5432/postgres, target/bench, every scenario
(--only runs the ones it names, in its order: `--only create,search` searches after the creates),
16 database connections in the tickets service (its DB_MAX_CONNECTIONS), and its LOG_LEVEL
`warn` (its log is tickets-<backend>.log in --dir; `docket_tickets::repo::search_index=debug,warn`
logs each round of the SQLite search index); the gateway's LOG_LEVEL is `warn` too
(--gateway-log; `info` logs each request with its latency as the gateway saw it).
Experiments on the driver itself: --direct sends the requests to the tickets service instead of
the gateway; --driver-threads sets the driver's tokio worker threads (default one per core; 1 runs it on a
single-threaded runtime); --driver-spin-us burns that much CPU in the driver before each
request, to see whether the driver's own cost moves the services' latency.
`floor` is the cheapest request the same path can carry: forwarded by the gateway, its token
checked by the service, then refused by validation (`limit=0`, a 422) before any database work.
`comment` comments on tickets drawn from the seeded ones (a few comments each); `comment-long`
on each connection's own ticket, which gathers hundreds over a run: the worst case.
`mixed` takes in turn the first page, a search for a code, a ticket, a create, a search for a
common word, a PATCH, a ticket and a comment on each connection.
Each scenario first runs closed loop: each connection sends its next request as soon as the
last one is answered, so the figures are the saturation throughput and the queueing it causes
(p50 is about connections / throughput). With --rate R it then runs again open loop: the
connections together send R requests/s on a fixed schedule, evenly spaced (a thread of the
driver keeps it), and each latency counts from the request's scheduled time, so a stall also
counts for the requests it delayed; a line tells how late requests left. --load F sets R
per scenario to F times the throughput its closed-loop pass measured (0.5: latency at half
of saturation). Another line counts the slow stretches of the open-loop run (100 ms windows
where over 5 % of the requests took over 10 ms) and sets beside them the time the virtual
machine's host stole from its cores (`/proc/stat`), inside those windows and outside.
The CPU line ends with the rest of the machine's CPU (other processes, the kernel) and the
steal, each as a share of one core.";

#[derive(Debug, Clone)]
struct Options {
    backends: Vec<Backend>,
    tickets: usize,
    users: usize,
    comments: usize,
    concurrency: usize,
    requests: usize,
    seconds: u64,
    pg_url: String,
    dir: PathBuf,
    rate: Option<usize>,
    load: Option<f64>,
    /// What to run, in this order (`--only`, else [`Scenario::ALL`]).
    scenarios: Vec<Scenario>,
    db_connections: usize,
    /// The tickets service's LOG_LEVEL.
    tickets_log: String,
    /// The gateway's LOG_LEVEL.
    gateway_log: String,
    /// Worker threads of the driver's own runtime (1: a single-threaded runtime; none:
    /// tokio's default, one per core unless `TOKIO_WORKER_THREADS` says otherwise).
    driver_threads: Option<usize>,
    /// CPU time the driver burns before each request (an experiment: does the driver's own
    /// cost move the services' latency?).
    driver_spin: Duration,
    /// Drive the tickets service itself, not the gateway.
    direct: bool,
}

fn options() -> anyhow::Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{HELP}");
        std::process::exit(0);
    }
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num = |name: &str, default: usize| -> anyhow::Result<usize> {
        get(name).map_or(Ok(default), |v| {
            v.replace('_', "")
                .parse()
                .with_context(|| format!("{name} {v}"))
        })
    };
    let backends = match get("--backend").as_deref().unwrap_or("both") {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => bail!("--backend {other}: sqlite, postgres or both"),
    };
    Ok(Options {
        backends,
        tickets: num("--tickets", 1_000_000)?,
        users: num("--users", 1000)?.max(10),
        comments: num("--comments", 3)?,
        concurrency: num("--concurrency", 64)?.max(1),
        requests: num("--requests", 20_000)?,
        seconds: num("--seconds", 15)? as u64,
        pg_url: get("--pg-url")
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        dir: PathBuf::from(get("--dir").unwrap_or_else(|| "target/bench".into())),
        rate: get("--rate")
            .map(|v| v.parse())
            .transpose()
            .context("--rate")?,
        load: get("--load")
            .map(|v| v.parse::<f64>())
            .transpose()
            .context("--load")?,
        scenarios: match get("--only") {
            Some(v) => v
                .split(',')
                .map(|key| {
                    Scenario::ALL
                        .into_iter()
                        .find(|s| s.key() == key)
                        .with_context(|| format!("--only: no scenario {key:?}"))
                })
                .collect::<anyhow::Result<_>>()?,
            None => Scenario::ALL.to_vec(),
        },
        db_connections: num("--db-connections", 16)?.max(1),
        tickets_log: get("--tickets-log").unwrap_or_else(|| "warn".into()),
        gateway_log: get("--gateway-log").unwrap_or_else(|| "warn".into()),
        driver_threads: get("--driver-threads")
            .map(|v| v.parse::<usize>().map(|n| n.max(1)))
            .transpose()
            .context("--driver-threads")?,
        driver_spin: Duration::from_micros(num("--driver-spin-us", 0)? as u64),
        direct: args.iter().any(|a| a == "--direct"),
    })
}

/// A small deterministic PRNG (xorshift64*), so runs are repeatable without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &str = "printer laptop email outlook vpn network wifi password reset account locked \
    screen monitor keyboard mouse slow crash error update install license software hardware \
    server database backup restore file folder share drive permission access denied login \
    phone mobile app browser chrome firefox page load timeout certificate expired invoice \
    billing payment refund order shipping delivery broken missing request new user onboarding \
    offboarding meeting calendar teams zoom camera microphone audio video sync cloud storage \
    quota full disk memory cpu fan noise battery charger dock cable adapter port usb hdmi \
    office excel word powerpoint pdf scan fax toner paper jam queue ticket urgent please help \
    thanks again still not working since yesterday morning after the latest patch restart";

/// Searchable product codes: each ticket's description carries one, so a code matches about
/// tickets / CODES tickets.
const CODES: usize = 2000;

fn code(i: usize) -> String {
    format!("kx{i:04}")
}

fn sentence(rng: &mut Rng, words: &[&str], min: usize, max: usize) -> String {
    let n = min + rng.below(max - min + 1);
    (0..n)
        .map(|_| words[rng.below(words.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A ticket's subject and description: common words, and one product code in the
/// description. The seeding and the create scenario write the same kind of text, so a create
/// indexes as many words as a seeded ticket holds, and the searches find new tickets too.
fn ticket_text(rng: &mut Rng, words: &[&str]) -> (String, String) {
    let subject = sentence(rng, words, 3, 8);
    let description = format!(
        "{} {} {}",
        sentence(rng, words, 10, 30),
        code(rng.below(CODES)),
        sentence(rng, words, 0, 10)
    );
    (subject, description)
}

/// A comment's body, seeded or posted.
fn comment_body(rng: &mut Rng, words: &[&str]) -> String {
    sentence(rng, words, 5, 25)
}

fn v7_at(ms: i64, rng: &mut Rng) -> Uuid {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        (ms / 1000) as u64,
        ((ms % 1000) * 1_000_000) as u32 + (rng.below(1_000_000) as u32),
    );
    Uuid::new_v7(ts)
}

/// Multi-row INSERT of `rows` (each `cols` values) into `table`.
async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &str,
    cols: usize,
    rows: Vec<Vec<Arg>>,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    let mut n = 0;
    for (r, _) in rows.iter().enumerate() {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..cols {
            n += 1;
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    let mut q = sqlx::query(&sql);
    for arg in rows.into_iter().flatten() {
        q = match arg {
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Null => q.bind(None::<String>),
        };
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// The statuses and priorities of the contract, with their share of the seeded tickets.
const STATUSES: [(&str, usize); 5] = [
    ("open", 30),
    ("in_progress", 20),
    ("waiting", 15),
    ("resolved", 15),
    ("closed", 20),
];
const PRIORITIES: [(&str, usize); 4] = [("low", 25), ("normal", 50), ("high", 20), ("urgent", 5)];

fn weighted<T: Copy>(rng: &mut Rng, table: &[(T, usize)]) -> T {
    let total: usize = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.below(total);
    for (v, w) in table {
        if pick < *w {
            return *v;
        }
        pick -= w;
    }
    table[0].0
}

struct Seeded {
    sample_ids: Vec<Uuid>,
}

/// Seeds tickets, comments and `created` events. Returns a sample of ticket ids.
async fn seed_tickets(
    pool: &sqlx::AnyPool,
    backend: Backend,
    opts: &Options,
    requesters: &[Uuid],
    staff: &[Uuid],
) -> anyhow::Result<Seeded> {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let now = now_ms();
    let start = now - (opts.tickets as i64) * 30_000;
    let batch = 400;
    let per_tx = 25_000;
    let mut conn = pool.acquire().await?;
    if backend == Backend::Postgres {
        conn.execute("SET synchronous_commit = off").await?;
    }
    let mut sample_ids = Vec::new();
    let started = Instant::now();
    let mut done = 0;
    let mut comments_total = 0usize;
    while done < opts.tickets {
        let tx_end = (done + per_tx).min(opts.tickets);
        conn.execute("BEGIN").await?;
        while done < tx_end {
            let end = (done + batch).min(tx_end);
            let mut tickets = Vec::with_capacity(end - done);
            let mut comments = Vec::new();
            let mut events = Vec::with_capacity(end - done);
            for i in done..end {
                let at = start + (i as i64) * 30_000 + rng.below(30_000) as i64;
                let id = v7_at(at, &mut rng);
                if rng.below(opts.tickets.div_ceil(2000).max(1)) == 0 && sample_ids.len() < 5000 {
                    sample_ids.push(id);
                }
                let requester = requesters[rng.below(requesters.len())];
                let status = weighted(&mut rng, &STATUSES);
                let priority = weighted(&mut rng, &PRIORITIES);
                let assignee = if status == "open" && rng.below(2) == 0 {
                    None
                } else {
                    Some(staff[rng.below(staff.len())])
                };
                let (subject, description) = ticket_text(&mut rng, &words);
                tickets.push(vec![
                    Arg::Text(id.to_string()),
                    Arg::Text(subject),
                    Arg::Text(description),
                    Arg::Text(status.into()),
                    Arg::Text(priority.into()),
                    Arg::Text(requester.to_string()),
                    assignee.map_or(Arg::Null, |a| Arg::Text(a.to_string())),
                    Arg::Int(1),
                    Arg::Int(at),
                    Arg::Int(at),
                ]);
                events.push(vec![
                    Arg::Text(v7_at(at, &mut rng).to_string()),
                    Arg::Text(id.to_string()),
                    Arg::Text(requester.to_string()),
                    Arg::Text("created".into()),
                    Arg::Text(json!({"status": "open", "priority": priority}).to_string()),
                    Arg::Int(0),
                    Arg::Int(at),
                ]);
                let n_comments = if opts.comments == 0 {
                    0
                } else {
                    rng.below(opts.comments * 2 + 1)
                };
                for k in 0..n_comments {
                    let c_at = at + (k as i64 + 1) * 60_000;
                    let internal = rng.below(10) == 0;
                    let author = if internal || rng.below(2) == 0 {
                        staff[rng.below(staff.len())]
                    } else {
                        requester
                    };
                    comments.push(vec![
                        Arg::Text(v7_at(c_at, &mut rng).to_string()),
                        Arg::Text(id.to_string()),
                        Arg::Text(author.to_string()),
                        Arg::Text(comment_body(&mut rng, &words)),
                        Arg::Int(i64::from(internal)),
                        Arg::Int(c_at),
                    ]);
                }
            }
            comments_total += comments.len();
            insert_rows(
                &mut conn,
                "tickets",
                "id, subject, description, status, priority, requester_id, assignee_id, \
                 version, created_at, updated_at",
                10,
                tickets,
            )
            .await?;
            for chunk in comments.chunks(batch) {
                insert_rows(
                    &mut conn,
                    "comments",
                    "id, ticket_id, author_id, body, internal, created_at",
                    6,
                    chunk.to_vec(),
                )
                .await?;
            }
            insert_rows(
                &mut conn,
                "events",
                "id, ticket_id, actor_id, kind, data, internal, created_at",
                7,
                events,
            )
            .await?;
            done = end;
        }
        conn.execute("COMMIT").await?;
        eprintln!(
            "  seeded {done} tickets, {comments_total} comments ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "seeded {} tickets, {comments_total} comments, {} events in {:.1} s",
        opts.tickets,
        opts.tickets,
        started.elapsed().as_secs_f64()
    );
    Ok(Seeded { sample_ids })
}

fn exe_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().context("no exe dir")?.to_path_buf())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(bin: &str, envs: &[(&str, String)], log: &Path) -> anyhow::Result<Proc> {
    let path = exe_dir()?.join(bin);
    let log = std::fs::File::create(log)?;
    let child = Command::new(&path)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", path.display()))?;
    Ok(Proc(child))
}

async fn wait_live(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/health/live")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{base} did not start")
}

/// CPU time (user + system) a process has used so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at state; utime and stime are
    // the 14th and 15th fields of the line, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// CPU time of every process whose command name is `comm` (all PostgreSQL backends).
fn cpu_seconds_named(comm: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .map(cpu_seconds)
        .sum()
}

/// The whole machine's CPU time so far from the first line of `/proc/stat`, in seconds: busy
/// (every core's user, nice, system, interrupt and soft-interrupt time) and stolen (time a
/// core of this virtual machine was ready to run but its host ran something else).
fn machine_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return (0.0, 0.0);
    };
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0.0, 0.0);
    };
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0) as f64 / 100.0;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    (at(0) + at(1) + at(2) + at(5) + at(6), at(7))
}

/// The open loop's record of the host's steal: `/proc/stat`'s stolen time, every 100 ms, from a
/// thread of its own, so that the slow stretches of a run can be set beside it.
struct StealWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Instant, f64)>>,
}

impl StealWatch {
    fn start() -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = vec![(Instant::now(), machine_seconds().1)];
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                samples.push((Instant::now(), machine_seconds().1));
            }
            samples
        });
        Self { stop, thread }
    }

    fn stop(self) -> Vec<(Instant, f64)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// How the slow stretches of an open-loop run line up with the host's steal.
#[derive(Debug)]
struct SlowStretches {
    /// 100 ms windows (by scheduled time) in the run, and how many of them were slow: over 5 %
    /// of the requests scheduled in them took over 10 ms.
    windows: usize,
    slow_windows: usize,
    /// The share of all requests over 10 ms that the slow windows hold, in %.
    slow_requests_in_them: f64,
    /// The host's steal inside the slow windows and outside them, in % of one core.
    steal_in: f64,
    steal_out: f64,
}

impl SlowStretches {
    const WINDOW_MS: u128 = 100;
    const SLOW: Duration = Duration::from_millis(10);

    /// `requests` holds each request's scheduled time and latency; `steal` the samples of
    /// [`StealWatch`]. The steal between two samples counts for the window that holds the
    /// middle of the interval.
    fn find(requests: &[(Instant, Duration)], steal: &[(Instant, f64)], started: Instant) -> Self {
        let window_of = |t: Instant| {
            (t.saturating_duration_since(started).as_millis() / Self::WINDOW_MS) as usize
        };
        let windows = requests
            .iter()
            .map(|(t, _)| window_of(*t) + 1)
            .max()
            .unwrap_or(0);
        let mut count = vec![(0usize, 0usize); windows];
        for (t, took) in requests {
            let w = &mut count[window_of(*t)];
            w.0 += 1;
            w.1 += usize::from(*took > Self::SLOW);
        }
        let slow: Vec<bool> = count.iter().map(|&(n, s)| s * 20 > n).collect();
        let slow_requests: usize = count.iter().map(|w| w.1).sum();
        let in_slow: usize = count
            .iter()
            .zip(&slow)
            .filter(|(_, s)| **s)
            .map(|(w, _)| w.1)
            .sum();
        let (mut stolen_in, mut time_in, mut stolen_out, mut time_out) = (0.0, 0.0, 0.0, 0.0);
        for pair in steal.windows(2) {
            let ((t0, s0), (t1, s1)) = (pair[0], pair[1]);
            let span = t1.duration_since(t0);
            if slow.get(window_of(t0 + span / 2)).copied().unwrap_or(false) {
                (stolen_in, time_in) = (stolen_in + (s1 - s0), time_in + span.as_secs_f64());
            } else {
                (stolen_out, time_out) = (stolen_out + (s1 - s0), time_out + span.as_secs_f64());
            }
        }
        let percent = |part: f64, whole: f64| {
            if whole > 0.0 {
                part * 100.0 / whole
            } else {
                0.0
            }
        };
        Self {
            windows,
            slow_windows: slow.iter().filter(|s| **s).count(),
            slow_requests_in_them: percent(in_slow as f64, slow_requests as f64),
            steal_in: percent(stolen_in, time_in),
            steal_out: percent(stolen_out, time_out),
        }
    }

    fn print(&self) {
        println!(
            "    slow stretches: {} of {} windows of {} ms had over 5 % of their requests over {} ms, and {:.0} % of all such requests; the host stole {:.0} % of a core in them, {:.0} % elsewhere",
            self.slow_windows,
            self.windows,
            Self::WINDOW_MS,
            Self::SLOW.as_millis(),
            self.slow_requests_in_them,
            self.steal_in,
            self.steal_out,
        );
    }
}

/// Where the CPU went during a scenario: the driver, the gateway, the tickets service,
/// PostgreSQL (all its processes), the machine as a whole, and the time its host stole.
#[derive(Clone, Copy)]
struct CpuSample {
    driver: f64,
    gateway: f64,
    tickets: f64,
    postgres: f64,
    machine: f64,
    stolen: f64,
}

impl CpuSample {
    fn take(gateway: u32, tickets: u32) -> Self {
        let (machine, stolen) = machine_seconds();
        Self {
            driver: cpu_seconds(std::process::id()),
            gateway: cpu_seconds(gateway),
            tickets: cpu_seconds(tickets),
            postgres: cpu_seconds_named("postgres"),
            machine,
            stolen,
        }
    }

    /// The machine's busy time that none of the four above account for: other processes (the
    /// machine's other servers), the kernel's own threads and interrupts. Steal is not in it,
    /// but the kernel's per-process times can hold a little of it (they are counted by ticks),
    /// so with much steal this can fall a little below zero.
    fn rest(&self) -> f64 {
        self.machine - self.driver - self.gateway - self.tickets - self.postgres
    }
}

/// A field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The highest anonymous resident memory (`RssAnon`: heap, stacks, SQLite's page caches) that
/// `pid` reaches while the returned task runs, sampled every 20 ms. The kernel's own peak,
/// `VmHWM`, also counts the database file's pages that SQLite maps, once per connection that
/// touched them: that is the kernel's page cache, not the service's memory.
fn watch_anon_peak(
    pid: u32,
) -> (
    Arc<std::sync::atomic::AtomicU64>,
    tokio::task::JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let peak = Arc::new(AtomicU64::new(0));
    let seen = peak.clone();
    let task = tokio::spawn(async move {
        loop {
            if let Some(kib) = status_kib(pid, "RssAnon") {
                seen.fetch_max(kib, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (peak, task)
}

/// Fresh database URLs for auth and tickets on `backend`.
async fn fresh_databases(backend: Backend, opts: &Options) -> anyhow::Result<(String, String)> {
    match backend {
        Backend::Sqlite => {
            std::fs::create_dir_all(&opts.dir)?;
            let dir = std::fs::canonicalize(&opts.dir)?;
            let mut urls = Vec::new();
            for name in ["bench-auth.db", "bench-tickets.db"] {
                // With the search index's file (see `repo::search_index`).
                for suffix in ["", "-wal", "-shm", "-search", "-search-wal", "-search-shm"] {
                    let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
                }
                urls.push(format!("sqlite://{}", dir.join(name).display()));
            }
            Ok((urls[0].clone(), urls[1].clone()))
        }
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&opts.pg_url)
                .await
                .context("connecting to --pg-url")?;
            // What of the server's setup the figures depend on (see scripts/bench-postgres).
            let mut settings = Vec::new();
            for name in ["server_version", "shared_buffers", "autovacuum"] {
                let row = sqlx::query(&format!("SHOW {name}"))
                    .fetch_one(&mut admin)
                    .await?;
                settings.push(format!("{name} {}", row.try_get::<String, _>(0)?));
            }
            println!("  PostgreSQL: {}", settings.join(", "));
            let mut urls = Vec::new();
            for name in ["docket_bench_auth", "docket_bench_tickets"] {
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await?;
                let mut url = reqwest::Url::parse(&opts.pg_url)?;
                url.set_path(&format!("/{name}"));
                urls.push(url.to_string());
            }
            Ok((urls[0].clone(), urls[1].clone()))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// The floor of every scenario: an authenticated request through the gateway that the
    /// service refuses before touching the database (`limit=0`, a 422 problem).
    Floor,
    FirstPage,
    Filter,
    Search,
    SearchCommon,
    Get,
    Create,
    Patch,
    /// A comment on a ticket drawn from the seeded sample (about 3 comments each, as most
    /// tickets have), every other one an internal note.
    Comment,
    /// A comment on the connection's own ticket, which gathers hundreds over a run: the worst
    /// case, since a comment re-indexes its ticket's text on SQLite.
    CommentLong,
    /// Creates, PATCHes (of the connection's own ticket) and comments (on sampled tickets) in
    /// turn on each connection: the writes of a help desk at work, which commit together on
    /// SQLite in groups of every kind.
    Writes,
    /// A help desk at work: each connection takes in turn the first page, a search for a code,
    /// a ticket, a create, a search for a common word, a PATCH, a ticket and a comment. On
    /// SQLite a search waits for the search index to hold the writes committed before it.
    Mixed,
}

impl Scenario {
    const ALL: [Scenario; 12] = [
        Scenario::Floor,
        Scenario::FirstPage,
        Scenario::Filter,
        Scenario::Search,
        Scenario::SearchCommon,
        Scenario::Get,
        Scenario::Create,
        Scenario::Patch,
        Scenario::Comment,
        Scenario::CommentLong,
        Scenario::Writes,
        Scenario::Mixed,
    ];

    /// The name `--only` takes.
    fn key(self) -> &'static str {
        match self {
            Scenario::Floor => "floor",
            Scenario::FirstPage => "list",
            Scenario::Filter => "filter",
            Scenario::Search => "search",
            Scenario::SearchCommon => "search-common",
            Scenario::Get => "get",
            Scenario::Create => "create",
            Scenario::Patch => "patch",
            Scenario::Comment => "comment",
            Scenario::CommentLong => "comment-long",
            Scenario::Writes => "writes",
            Scenario::Mixed => "mixed",
        }
    }

    /// The p99 target for this kind of request, in ms (none for the floor or the
    /// worst case; comments count as writes).
    fn target_ms(self) -> Option<f64> {
        match self {
            Scenario::Floor | Scenario::CommentLong => None,
            Scenario::Get => Some(5.0),
            _ => Some(20.0),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scenario::Floor => "floor (422 before the DB)",
            Scenario::FirstPage => "list first page",
            Scenario::Filter => "filter status=waiting",
            Scenario::Search => "search q=<code>",
            Scenario::SearchCommon => "search q=printer (common)",
            Scenario::Get => "get one ticket",
            Scenario::Create => "create",
            Scenario::Patch => "patch (If-Match)",
            Scenario::Comment => "comment",
            Scenario::CommentLong => "comment, long ticket",
            Scenario::Writes => "create/PATCH/comment",
            Scenario::Mixed => "reads and writes mixed",
        }
    }
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    agent: String,
    requesters: Vec<String>,
    sample: Vec<Uuid>,
    /// One ticket per connection for PATCH, so versions never collide.
    patch_targets: Vec<Uuid>,
    gateway_pid: u32,
    tickets_pid: u32,
    /// See `Options::driver_spin`.
    driver_spin: Duration,
}

/// The `p` quantile of sorted durations, in milliseconds (0 when there are none).
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The open loop's clock: a thread of its own that hands each connection the scheduled times
/// of its requests, `rate` a second in all, connection after connection, until the deadline.
///
/// A tokio timer would do the same in a task, but it fires on whole milliseconds: every
/// request then left up to 1 ms after its scheduled time, which counted as latency, and all
/// the requests of a millisecond left together, queueing behind each other. The thread
/// sleeps to each time (the kernel's high-resolution timers, within tens of microseconds).
struct Pacer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Pacer {
    fn start(
        rate: usize,
        conns: usize,
        started: Instant,
        deadline: Instant,
    ) -> (Self, Vec<tokio::sync::mpsc::UnboundedReceiver<Instant>>) {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..conns)
            .map(|_| tokio::sync::mpsc::unbounded_channel())
            .unzip();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let every = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
        let thread = std::thread::spawn(move || {
            let mut at = started;
            for k in 0.. {
                if at >= deadline || stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                if let Some(wait) = at.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                // A connection that has finished no longer listens; the others go on.
                let _ = senders[k % senders.len()].send(at);
                at += every;
            }
        });
        (Self { stop, thread }, receivers)
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Runs one scenario: closed loop when `rate` is None, else open loop at `rate` requests/s.
/// Returns the requests per second it reached.
async fn drive(
    ctx: Arc<Ctx>,
    scenario: Scenario,
    opts: &Options,
    rate: Option<usize>,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    let remaining = Arc::new(std::sync::atomic::AtomicI64::new(opts.requests as i64));
    let cpu_before = CpuSample::take(ctx.gateway_pid, ctx.tickets_pid);
    let started = Instant::now();
    let steal_watch = rate.map(|_| StealWatch::start());
    // With --rate, the connections send on a fixed schedule (open loop) and latency counts
    // from the scheduled time, so a stall is not hidden by the requests it delayed.
    let conns = opts.concurrency;
    let (pacer, schedules) = match rate {
        Some(r) => {
            let (pacer, schedules) = Pacer::start(r, conns, started, deadline);
            (Some(pacer), schedules.into_iter().map(Some).collect())
        }
        None => (None, (0..conns).map(|_| None).collect::<Vec<_>>()),
    };
    let mut tasks = Vec::new();
    for (task, mut schedule) in schedules.into_iter().enumerate() {
        let ctx = ctx.clone();
        let remaining = remaining.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0xA5A5_0000 + task as u64 * 7919 + 1);
            let words: Vec<&str> = WORDS.split_whitespace().collect();
            let mut latencies = Vec::new();
            let mut times = Vec::new();
            let mut lags = Vec::new();
            let mut errors = 0usize;
            let mut first_error: Option<String> = None;
            // The target's current version (an earlier pass may have moved it), untimed.
            let mut version = if matches!(
                scenario,
                Scenario::Patch | Scenario::Writes | Scenario::Mixed
            ) {
                let current: Option<Value> = match ctx
                    .http
                    .get(format!(
                        "{}/api/tickets/{}",
                        ctx.base, ctx.patch_targets[task]
                    ))
                    .bearer_auth(&ctx.agent)
                    .send()
                    .await
                {
                    Ok(resp) => resp.json().await.ok(),
                    Err(_) => None,
                };
                current.and_then(|t| t["version"].as_i64()).unwrap_or(1)
            } else {
                1
            };
            let mut priority_flip = false;
            let mut step = task;
            let mut slowest: Option<(Duration, String)> = None;
            while Instant::now() < deadline
                && remaining.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) > 0
            {
                // What this request is: in the mixed scenario, the next of its three writes.
                step += 1;
                let kind = match scenario {
                    Scenario::Writes => {
                        [Scenario::Create, Scenario::Patch, Scenario::Comment][step % 3]
                    }
                    Scenario::Mixed => [
                        Scenario::FirstPage,
                        Scenario::Search,
                        Scenario::Get,
                        Scenario::Create,
                        Scenario::SearchCommon,
                        Scenario::Patch,
                        Scenario::Get,
                        Scenario::Comment,
                    ][step % 8],
                    other => other,
                };
                if !ctx.driver_spin.is_zero() {
                    let until = Instant::now() + ctx.driver_spin;
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                }
                let rb = match kind {
                    Scenario::Floor => ctx
                        .http
                        .get(format!("{}/api/tickets?limit=0", ctx.base))
                        .bearer_auth(&ctx.agent),
                    Scenario::FirstPage => ctx
                        .http
                        .get(format!("{}/api/tickets?limit=20", ctx.base))
                        .bearer_auth(&ctx.agent),
                    Scenario::Filter => ctx
                        .http
                        .get(format!("{}/api/tickets?status=waiting&limit=20", ctx.base))
                        .bearer_auth(&ctx.agent),
                    Scenario::Search => ctx
                        .http
                        .get(format!(
                            "{}/api/tickets?q={}&limit=20",
                            ctx.base,
                            code(rng.below(CODES))
                        ))
                        .bearer_auth(&ctx.agent),
                    Scenario::SearchCommon => ctx
                        .http
                        .get(format!("{}/api/tickets?q=printer&limit=20", ctx.base))
                        .bearer_auth(&ctx.agent),
                    Scenario::Get => ctx
                        .http
                        .get(format!(
                            "{}/api/tickets/{}",
                            ctx.base,
                            ctx.sample[rng.below(ctx.sample.len())]
                        ))
                        .bearer_auth(&ctx.agent),
                    Scenario::Create => {
                        let (subject, description) = ticket_text(&mut rng, &words);
                        ctx.http
                            .post(format!("{}/api/tickets", ctx.base))
                            .bearer_auth(&ctx.requesters[task % ctx.requesters.len()])
                            .json(&json!({"subject": subject, "description": description}))
                    }
                    Scenario::Patch => {
                        priority_flip = !priority_flip;
                        ctx.http
                            .patch(format!(
                                "{}/api/tickets/{}",
                                ctx.base, ctx.patch_targets[task]
                            ))
                            .bearer_auth(&ctx.agent)
                            .header("if-match", version.to_string())
                            .json(&json!({
                                "priority": if priority_flip { "urgent" } else { "low" }
                            }))
                    }
                    Scenario::Comment
                    | Scenario::CommentLong
                    | Scenario::Writes
                    | Scenario::Mixed => ctx
                        .http
                        .post(format!(
                            "{}/api/tickets/{}/comments",
                            ctx.base,
                            if kind == Scenario::CommentLong {
                                ctx.patch_targets[task]
                            } else {
                                ctx.sample[rng.below(ctx.sample.len())]
                            }
                        ))
                        .bearer_auth(&ctx.agent)
                        .json(&json!({
                            "body": comment_body(&mut rng, &words),
                            "internal": step % 2 == 0,
                        })),
                };
                let request = match rb.build() {
                    Ok(request) => request,
                    Err(e) => {
                        first_error.get_or_insert_with(|| e.to_string());
                        errors += 1;
                        continue;
                    }
                };
                // What the request was, for the slowest list (written out only if it is).
                let method = request.method().clone();
                let url = request.url().clone();
                let t0 = match schedule.as_mut() {
                    Some(schedule) => match schedule.recv().await {
                        Some(scheduled) => {
                            lags.push(scheduled.elapsed());
                            scheduled
                        }
                        None => break,
                    },
                    None => Instant::now(),
                };
                let ok = match ctx.http.execute(request).await {
                    Ok(resp) => {
                        let status = resp.status();
                        let body = resp.bytes().await;
                        if status.is_success() && kind == Scenario::Patch {
                            // A PATCH that changes nothing keeps the version: follow the answer.
                            if let Some(v) = body
                                .as_ref()
                                .ok()
                                .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                                .and_then(|t| t["version"].as_i64())
                            {
                                version = v;
                            }
                        }
                        // The floor's answer is the validation problem, and nothing else.
                        let ok = if kind == Scenario::Floor {
                            status == reqwest::StatusCode::UNPROCESSABLE_ENTITY
                        } else {
                            status.is_success()
                        };
                        if !ok && first_error.is_none() {
                            let text = body.map(|b| String::from_utf8_lossy(&b).into_owned());
                            first_error = Some(format!("{status}: {}", text.unwrap_or_default()));
                        }
                        ok
                    }
                    Err(e) => {
                        first_error.get_or_insert_with(|| e.to_string());
                        false
                    }
                };
                let took = t0.elapsed();
                if slowest.as_ref().is_none_or(|(d, _)| took > *d) {
                    let q = url.query().map(|q| format!("?{q}")).unwrap_or_default();
                    slowest = Some((took, format!("{method} {}{q}", url.path())));
                }
                latencies.push(took);
                times.push(t0);
                if !ok {
                    errors += 1;
                }
            }
            (latencies, times, lags, errors, first_error, slowest)
        }));
    }
    let mut all = Vec::new();
    let mut all_lags = Vec::new();
    let mut timeline = Vec::new();
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        let (l, times, lags, e, f, slow) = t.await?;
        if rate.is_some() {
            timeline.extend(times.into_iter().zip(l.iter().copied()));
        }
        slowest.extend(slow);
        all.extend(l);
        all_lags.extend(lags);
        errors += e;
        first_error = first_error.or(f);
    }
    if let Some(pacer) = pacer {
        pacer.stop();
    }
    let steal = steal_watch.map(StealWatch::stop).unwrap_or_default();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = CpuSample::take(ctx.gateway_pid, ctx.tickets_pid);
    all.sort();
    all_lags.sort();
    let pct = |p: f64| percentile_ms(&all, p);
    println!(
        "  {:<26} {:<10} {:>7} req in {:>5.1} s = {:>6.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
        scenario.name(),
        rate.map_or_else(|| "closed".to_owned(), |r| format!("@{r}/s")),
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        errors
    );
    if let Some(target) = scenario.target_ms() {
        let verdict = if pct(0.99) < target { "met" } else { "missed" };
        println!("    p99 target < {target} ms: {verdict}");
    }
    if let Some(e) = first_error {
        println!("    first error: {e}");
    }
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    let slow: Vec<String> = slowest
        .iter()
        .take(3)
        .map(|(d, url)| format!("{:.1} ms {url}", d.as_secs_f64() * 1000.0))
        .collect();
    println!("    slowest: {}", slow.join(", "));
    if rate.is_some() {
        println!(
            "    sent after its scheduled time: p50 {:.2} ms, p99 {:.2} ms (the connection was busy, or the driver late)",
            percentile_ms(&all_lags, 0.50),
            percentile_ms(&all_lags, 0.99),
        );
        SlowStretches::find(&timeline, &steal, started).print();
    }
    let per_request = |before: f64, after: f64| (after - before) * 1e6 / all.len().max(1) as f64;
    println!(
        "    CPU per request: driver {:.0} µs, gateway {:.0} µs, tickets {:.0} µs, postgres {:.0} µs; the rest of the machine {:.0} % of a core, stolen by the host {:.0} %",
        per_request(cpu_before.driver, cpu_after.driver),
        per_request(cpu_before.gateway, cpu_after.gateway),
        per_request(cpu_before.tickets, cpu_after.tickets),
        per_request(cpu_before.postgres, cpu_after.postgres),
        (cpu_after.rest() - cpu_before.rest()) * 100.0 / elapsed,
        (cpu_after.stolen - cpu_before.stolen) * 100.0 / elapsed,
    );
    Ok(all.len() as f64 / elapsed)
}

async fn register(
    http: &reqwest::Client,
    auth: &str,
    email: &str,
) -> anyhow::Result<(Uuid, String)> {
    let resp: Value = http
        .post(format!("{auth}/api/auth/register"))
        .json(&json!({"email": email, "password": "bench-password", "name": "Bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = resp["user"]["id"].as_str().context("user id")?.parse()?;
    let token = resp["access_token"].as_str().context("token")?.to_owned();
    Ok((id, token))
}

async fn login(http: &reqwest::Client, auth: &str, email: &str) -> anyhow::Result<String> {
    let resp: Value = http
        .post(format!("{auth}/api/auth/login"))
        .json(&json!({"email": email, "password": "bench-password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(resp["access_token"].as_str().context("token")?.to_owned())
}

async fn run_backend(backend: Backend, opts: &Options) -> anyhow::Result<()> {
    println!(
        "\n=== {backend:?}: {} tickets, {} users, ~{} comments per ticket, {} connections ===",
        opts.tickets, opts.users, opts.comments, opts.concurrency
    );
    let (auth_db, tickets_db) = fresh_databases(backend, opts).await?;
    std::fs::create_dir_all(&opts.dir)?;
    let data_dir = std::fs::canonicalize(&opts.dir)?.join(format!("auth-data-{backend:?}"));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency * 2)
        .build()?;

    // Auth: started first so it migrates its database.
    let auth_port = free_port()?;
    let auth_base = format!("http://127.0.0.1:{auth_port}");
    let _auth = start(
        "docket-auth",
        &[
            ("PORT", auth_port.to_string()),
            ("DATABASE_URL", auth_db.clone()),
            ("DATA_DIR", data_dir.display().to_string()),
            ("ACCESS_TOKEN_TTL_SECS", "7200".into()),
            ("LOG_LEVEL", "warn".into()),
        ],
        &opts.dir.join(format!("auth-{backend:?}.log")),
    )?;
    wait_live(&http, &auth_base).await?;
    let run = Uuid::new_v4().simple().to_string();
    let mut requester_tokens = Vec::new();
    let mut requesters = Vec::new();
    for i in 0..4 {
        let (id, token) = register(&http, &auth_base, &format!("req{i}-{run}@bench.test")).await?;
        requesters.push(id);
        requester_tokens.push(token);
    }
    let (agent_id, _) = register(&http, &auth_base, &format!("agent-{run}@bench.test")).await?;
    // Promote the agent and add the remaining users as plain rows (they never sign in).
    let auth_conn_db = sqlx::AnyPool::connect(&auth_db).await?;
    sqlx::query("UPDATE users SET role = 'agent' WHERE id = $1")
        .bind(agent_id.to_string())
        .execute(&auth_conn_db)
        .await?;
    let agent_token = login(&http, &auth_base, &format!("agent-{run}@bench.test")).await?;
    let mut staff = vec![agent_id];
    let now = now_ms();
    let mut tx = auth_conn_db.begin().await?;
    for i in 0..opts.users.saturating_sub(5) {
        let id = Uuid::now_v7();
        let role = if i % 100 < 2 { "agent" } else { "requester" };
        if role == "agent" {
            staff.push(id);
        } else {
            requesters.push(id);
        }
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, role, active, created_at, updated_at) \
             VALUES ($1, $2, 'Bench user', 'not-a-hash', $3, 1, $4, $4)",
        )
        .bind(id.to_string())
        .bind(format!("user{i}-{run}@bench.test"))
        .bind(role)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    println!(
        "auth: {} users ({} staff, {} requesters)",
        staff.len() + requesters.len(),
        staff.len(),
        requesters.len()
    );

    // Tickets: the schema, then the data. `docket-tickets reindex` opens the database as the
    // service does, so on the fresh one it applies the migrations; after the seeding, which
    // wrote rows behind the service's back, it builds every ticket's search document as the
    // service would have.
    let tickets_command = |command: &str, what: &str| -> anyhow::Result<()> {
        let t0 = Instant::now();
        let out = Command::new(exe_dir()?.join("docket-tickets"))
            .arg(command)
            .env("DATABASE_URL", &tickets_db)
            .env("LOG_LEVEL", "warn")
            .output()
            .with_context(|| format!("running docket-tickets {command}"))?;
        if !out.status.success() {
            bail!(
                "docket-tickets {command}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        println!("{what} in {:.1} s", t0.elapsed().as_secs_f64());
        Ok(())
    };
    tickets_command("reindex", "tickets schema")?;
    let db = sqlx::pool::PoolOptions::<sqlx::Any>::new()
        .max_connections(1)
        .connect(&tickets_db)
        .await?;
    // Build the full-text indexes once after loading rather than row by row, as the
    // migrations define them (with their storage parameters).
    let mut search_indexes = Vec::new();
    if backend == Backend::Postgres {
        search_indexes = sqlx::query_scalar::<_, String>(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index \
             WHERE indexrelid = 'tickets_search_idx'::regclass",
        )
        .fetch_all(&db)
        .await?;
        db.execute("DROP INDEX tickets_search_idx").await?;
    }
    let seeded = seed_tickets(&db, backend, opts, &requesters, &staff).await?;
    tickets_command("reindex", "search documents")?;
    let t0 = Instant::now();
    match backend {
        Backend::Postgres => {
            for create in &search_indexes {
                db.execute(create.as_str()).await?;
            }
            db.execute("VACUUM ANALYZE").await?;
            // Loading wrote gigabytes of WAL: without this the server's checkpoints of it run
            // during the first scenarios (a create stalled 0.85 s behind one).
            db.execute("CHECKPOINT").await?;
        }
        // No ANALYZE on SQLite: the service never runs it, and its queries get their plans
        // from the schema alone. With ANALYZE's STAT4 samples SQLite would prepare a
        // statement again whenever a bound value its plan looked at changes: a fifth of a
        // search's CPU in an earlier run. The WAL of the load is written back first.
        Backend::Sqlite => {
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
    }
    println!(
        "indexes and statistics in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    db.close().await;
    auth_conn_db.close().await;

    let tickets_port = free_port()?;
    let tickets_base = format!("http://127.0.0.1:{tickets_port}");
    let tickets = start(
        "docket-tickets",
        &[
            ("PORT", tickets_port.to_string()),
            ("DATABASE_URL", tickets_db.clone()),
            ("AUTH_URL", auth_base.clone()),
            ("LOG_LEVEL", opts.tickets_log.clone()),
            ("DB_MAX_CONNECTIONS", opts.db_connections.to_string()),
        ],
        &opts.dir.join(format!("tickets-{backend:?}.log")),
    )?;
    wait_live(&http, &tickets_base).await?;
    // The load goes through the gateway, as clients' does (its rate limits out of reach, in
    // process: this measures the services, not the limits).
    let gateway_port = free_port()?;
    let gateway_base = format!("http://127.0.0.1:{gateway_port}");
    let _gateway = start(
        "docket-gateway",
        &[
            ("PORT", gateway_port.to_string()),
            ("AUTH_URL", auth_base.clone()),
            ("TICKETS_URL", tickets_base.clone()),
            ("RATE_LIMIT_API", "4000000000/1".into()),
            ("LOG_LEVEL", opts.gateway_log.clone()),
            ("WEB_DIR", opts.dir.join("no-web").display().to_string()),
        ],
        &opts.dir.join(format!("gateway-{backend:?}.log")),
    )?;
    wait_live(&http, &gateway_base).await?;
    if opts.direct {
        println!("  driving {tickets_base} (tickets) directly, not its gateway {gateway_base}");
    } else {
        println!("  driving {gateway_base} (gateway) → {tickets_base} (tickets)");
    }
    let patch_targets = seeded
        .sample_ids
        .iter()
        .copied()
        .cycle()
        .take(opts.concurrency)
        .collect::<Vec<_>>();
    if seeded.sample_ids.len() < opts.concurrency {
        bail!("too few tickets for one PATCH target per connection");
    }
    let ctx = Arc::new(Ctx {
        http,
        base: if opts.direct {
            tickets_base.clone()
        } else {
            gateway_base
        },
        driver_spin: opts.driver_spin,
        agent: agent_token,
        requesters: requester_tokens,
        sample: seeded.sample_ids.clone(),
        patch_targets,
        gateway_pid: _gateway.0.id(),
        tickets_pid: tickets.0.id(),
    });
    let (anon_peak, anon_task) = watch_anon_peak(tickets.0.id());
    // Warm the key cache and connections.
    for _ in 0..3 {
        ctx.http
            .get(format!("{}/api/tickets?limit=1", ctx.base))
            .bearer_auth(&ctx.agent)
            .send()
            .await?;
    }
    for scenario in opts.scenarios.iter().copied() {
        let saturation = drive(ctx.clone(), scenario, opts, None).await?;
        let open = opts.rate.or_else(|| {
            opts.load
                .map(|f| (saturation * f).round().max(1.0) as usize)
        });
        if let Some(rate) = open {
            drive(ctx.clone(), scenario, opts, Some(rate)).await?;
        }
    }
    anon_task.abort();
    let anon = anon_peak.load(std::sync::atomic::Ordering::Relaxed);
    match status_kib(tickets.0.id(), "VmHWM") {
        Some(kib) => println!(
            "  tickets service peak memory: {:.1} MiB anonymous (sampled RssAnon); \
             {:.1} MiB VmHWM, which adds the mapped database file once per connection",
            anon as f64 / 1024.0,
            kib as f64 / 1024.0
        ),
        None => println!("  tickets service peak memory: unavailable"),
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let opts = options()?;
    let mut builder = match opts.driver_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(n) = opts.driver_threads.filter(|&n| n > 1) {
        builder.worker_threads(n);
    }
    let runtime = builder.enable_all().build()?;
    runtime.block_on(async {
        for backend in opts.backends.clone() {
            run_backend(backend, &opts).await?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_stretches_are_the_windows_with_many_slow_requests_and_get_their_steal() {
        let started = Instant::now();
        let ms = |n: u64| Duration::from_millis(n);
        let mut requests = Vec::new();
        // Window 0: 100 fast requests. Window 1: 100, of which 10 slow (a slow window).
        // Window 2: 100, of which 2 slow (not slow: 2 % is under 5 %).
        for w in 0..3u64 {
            let slow = [0, 10, 2][w as usize];
            for i in 0..100u64 {
                let took = if i < slow { ms(30) } else { ms(1) };
                requests.push((started + ms(w * 100 + i), took));
            }
        }
        // 40 ms of steal in the middle of window 1, 10 ms over windows 0 and 2 together.
        let steal = [
            (started, 0.0),
            (started + ms(100), 0.005),
            (started + ms(200), 0.045),
            (started + ms(300), 0.050),
        ];
        let found = SlowStretches::find(&requests, &steal, started);
        assert_eq!(found.windows, 3);
        assert_eq!(found.slow_windows, 1);
        assert!((found.slow_requests_in_them - 10.0 * 100.0 / 12.0).abs() < 1e-9);
        assert!((found.steal_in - 40.0).abs() < 1e-6, "{found:?}");
        assert!((found.steal_out - 5.0).abs() < 1e-6, "{found:?}");
    }
}
