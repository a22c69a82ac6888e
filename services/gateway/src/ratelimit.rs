//! Rate limiting shared by every replica, through Redis, with an in-process fallback.
//!
//! The algorithm is GCRA (the generic cell rate algorithm): one value per key — the
//! "theoretical arrival time" — so a limit of N per period allows a burst of N and then one
//! request every period/N, never 2N across a window boundary as a fixed window would. In Redis
//! a Lua script makes each decision atomically in one round trip and takes the time from
//! Redis (`TIME`), so replicas with skewed clocks still agree. The `redis` crate's `Script`
//! runs it by hash and loads it again by itself after `NOSCRIPT` (a Redis restart or
//! `SCRIPT FLUSH`). Keys carry the class and the client and expire when the bucket is full again.
//!
//! When Redis does not answer within a short timeout the limiter either serves from an
//! in-process limiter per replica (the default: logged once, `degraded` in health) or fails
//! closed. While Redis is down it is retried at most every few seconds, so requests do not each
//! pay the timeout; it is used again by itself once it answers.

use std::{
    collections::HashMap,
    net::IpAddr,
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures_util::future::BoxFuture;

use docket_platform::health::{CheckOutcome, HealthCheck};

/// N requests per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub period: Duration,
}

impl FromStr for Rate {
    type Err = String;
    /// `"100/900"`: 100 per 900 seconds (fractional seconds allowed: `"3/0.5"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, secs) = s
            .split_once('/')
            .ok_or("expected LIMIT/SECONDS, e.g. 100/900")?;
        let limit: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a count"))?;
        let secs: f64 = secs
            .trim()
            .parse()
            .map_err(|_| format!("{secs:?} is not a number of seconds"))?;
        if limit == 0 || !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 * 30.0 {
            return Err("the limit and the period must be positive".into());
        }
        Ok(Self {
            limit,
            period: Duration::from_secs_f64(secs),
        })
    }
}

impl Rate {
    fn interval_us(self) -> u64 {
        (self.period.as_micros() as u64 / u64::from(self.limit)).max(1)
    }
    fn period_us(self) -> u64 {
        self.period.as_micros() as u64
    }
}

/// Whether to record the request when it is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Would one more be allowed? Records nothing.
    Check,
    /// Allowed → recorded; denied → nothing recorded.
    Take,
    /// Gives back one earlier `Take` (a reservation that turned out not to count, such as a
    /// login that succeeded). Always allowed; never leaves the bucket fuller than full.
    Refund,
}

impl Mode {
    /// The script's argument.
    fn arg(self) -> &'static str {
        match self {
            Mode::Check => "0",
            Mode::Take => "1",
            Mode::Refund => "2",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset: Duration,
    /// When denied: how long until one more is allowed.
    pub retry_after: Duration,
}

/// The GCRA step, from a stored TAT (µs) and now (µs): returns the decision and the TAT to
/// store (if any). Shared by the in-process limiter; the Lua script below is the same logic.
///
/// For `Refund` the TAT to store may be `now` itself, which is an empty bucket's.
fn gcra(rate: Rate, mode: Mode, stored_tat: Option<u64>, now: u64) -> (Decision, Option<u64>) {
    let t = rate.interval_us();
    let period = rate.period_us();
    let tat = stored_tat.unwrap_or(now).max(now);
    if mode == Mode::Refund {
        let new_tat = tat.saturating_sub(t).max(now);
        let decision = Decision {
            allowed: true,
            limit: rate.limit,
            remaining: (((period - (new_tat - now).min(period)) / t) as u32).min(rate.limit),
            reset: Duration::from_micros(new_tat - now),
            retry_after: Duration::ZERO,
        };
        return (decision, Some(new_tat));
    }
    let new_tat = tat + t;
    let allow_at = new_tat.saturating_sub(period);
    if now < allow_at {
        let decision = Decision {
            allowed: false,
            limit: rate.limit,
            remaining: 0,
            reset: Duration::from_micros(tat - now),
            retry_after: Duration::from_micros(allow_at - now),
        };
        return (decision, None);
    }
    let used_tat = if mode == Mode::Take { new_tat } else { tat };
    let remaining = ((period - (new_tat - now)) / t) as u32 + u32::from(mode == Mode::Check);
    let decision = Decision {
        allowed: true,
        limit: rate.limit,
        remaining: remaining.min(rate.limit),
        reset: Duration::from_micros(used_tat - now),
        retry_after: Duration::ZERO,
    };
    (decision, (mode == Mode::Take).then_some(new_tat))
}

const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local take = ARGV[3] == '1'
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if ARGV[3] == '2' then
  local back = tat - interval
  if back <= now then
    redis.call('DEL', KEYS[1])
    back = now
  else
    redis.call('SET', KEYS[1], back, 'PX', math.ceil((back - now) / 1000) + 1)
  end
  return {1, math.floor((period - (back - now)) / interval), back - now, 0}
end
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
local remaining = math.floor((period - (new_tat - now)) / interval)
if take then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
  return {1, remaining, new_tat - now, 0}
end
return {1, remaining + 1, tat - now, 0}
";

/// What to do when Redis is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisDown {
    /// Serve from an in-process limiter per replica (logged once, health degraded).
    Fallback,
    /// Refuse with 503.
    Closed,
}

impl FromStr for RedisDown {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fallback" => Ok(Self::Fallback),
            "closed" => Ok(Self::Closed),
            other => Err(format!("{other:?} is not one of fallback, closed")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the rate limiter's store is unavailable")]
pub struct Unavailable;

/// In-process GCRA, per replica.
#[derive(Default)]
struct LocalStore {
    tats: Mutex<HashMap<String, u64>>,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl LocalStore {
    fn decide(&self, key: &str, rate: Rate, mode: Mode) -> Decision {
        let now = now_us();
        let mut tats = self.tats.lock().unwrap_or_else(|e| e.into_inner());
        if tats.len() > 100_000 {
            tats.retain(|_, tat| *tat > now);
        }
        let (decision, store) = gcra(rate, mode, tats.get(key).copied(), now);
        match store {
            Some(tat) if tat <= now => {
                tats.remove(key);
            }
            Some(tat) => {
                tats.insert(key.to_owned(), tat);
            }
            None => {}
        }
        decision
    }
}

struct RedisStore {
    conn: redis::aio::ConnectionManager,
    script: redis::Script,
    timeout: Duration,
}

impl RedisStore {
    async fn decide(&self, key: &str, rate: Rate, mode: Mode) -> Result<Decision, Unavailable> {
        let mut conn = self.conn.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(key)
            .arg(rate.interval_us())
            .arg(rate.period_us())
            .arg(mode.arg());
        let reply: Vec<i64> =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
                .await
                .map_err(|_| Unavailable)?
                .map_err(|e| {
                    tracing::debug!(error = %e, "redis rate-limit call failed");
                    Unavailable
                })?;
        let [allowed, remaining, reset, retry] = reply[..] else {
            return Err(Unavailable);
        };
        Ok(Decision {
            allowed: allowed == 1,
            limit: rate.limit,
            remaining: remaining.clamp(0, i64::from(rate.limit)) as u32,
            reset: Duration::from_micros(reset.max(0) as u64),
            retry_after: Duration::from_micros(retry.max(0) as u64),
        })
    }
}

/// The limiter. Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<LimiterInner>,
}

struct LimiterInner {
    prefix: String,
    redis: Option<RedisStore>,
    local: LocalStore,
    on_redis_down: RedisDown,
    /// Set while Redis is failing; microseconds since `started` of the next retry.
    down: AtomicBool,
    retry_at_ms: AtomicU64,
    started: Instant,
    retry_every: Duration,
    warned: AtomicBool,
}

impl Limiter {
    /// `redis_url` `None`: in-process only (warned at start). Creating the Redis connection is
    /// lazy, so a service starts while Redis is down.
    pub fn new(
        redis_url: Option<&str>,
        prefix: &str,
        timeout: Duration,
        on_redis_down: RedisDown,
    ) -> anyhow::Result<Self> {
        let redis = match redis_url {
            Some(url) => {
                // `rediss://` (ElastiCache with TLS) builds its TLS config from rustls'
                // process default; more than one crypto backend is compiled in, so name one.
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                let client = redis::Client::open(url)?;
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout.max(Duration::from_millis(200))))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                let conn = redis::aio::ConnectionManager::new_lazy_with_config(client, config)?;
                Some(RedisStore {
                    conn,
                    script: redis::Script::new(SCRIPT),
                    timeout,
                })
            }
            None => {
                tracing::warn!(
                    "no REDIS_URL: rate limits are kept per process, not shared between replicas"
                );
                None
            }
        };
        Ok(Self {
            inner: Arc::new(LimiterInner {
                prefix: prefix.to_owned(),
                redis,
                local: LocalStore::default(),
                on_redis_down,
                down: AtomicBool::new(false),
                retry_at_ms: AtomicU64::new(0),
                started: Instant::now(),
                retry_every: Duration::from_secs(2),
                warned: AtomicBool::new(false),
            }),
        })
    }

    /// True when decisions are shared through Redis right now.
    pub fn shared(&self) -> bool {
        self.inner.redis.is_some() && !self.inner.down.load(Ordering::Relaxed)
    }

    fn elapsed_ms(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
    }

    /// Decides for `class` (e.g. `api`) and `client` (e.g. an address).
    pub async fn decide(
        &self,
        class: &str,
        client: &str,
        rate: Rate,
        mode: Mode,
    ) -> Result<Decision, Unavailable> {
        let key = format!("{}:{class}:{client}", self.inner.prefix);
        let inner = &self.inner;
        if let Some(redis) = &inner.redis {
            let skip = inner.down.load(Ordering::Relaxed)
                && self.elapsed_ms() < inner.retry_at_ms.load(Ordering::Relaxed);
            if !skip {
                match redis.decide(&key, rate, mode).await {
                    Ok(decision) => {
                        if inner.down.swap(false, Ordering::Relaxed) {
                            tracing::info!("redis is back: rate limits are shared again");
                            inner.warned.store(false, Ordering::Relaxed);
                        }
                        return Ok(decision);
                    }
                    Err(Unavailable) => {
                        inner.down.store(true, Ordering::Relaxed);
                        inner.retry_at_ms.store(
                            self.elapsed_ms() + inner.retry_every.as_millis() as u64,
                            Ordering::Relaxed,
                        );
                        if !inner.warned.swap(true, Ordering::Relaxed) {
                            tracing::warn!(mode = ?inner.on_redis_down, "redis unavailable for rate limiting");
                        }
                    }
                }
            }
            if inner.on_redis_down == RedisDown::Closed {
                return Err(Unavailable);
            }
        }
        Ok(inner.local.decide(&key, rate, mode))
    }
}

/// The key for a client address: IPv4 as is, IPv6 by its /64 (one subscriber's block).
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Health: `degraded` while Redis is configured but not answering.
pub struct LimiterCheck(pub Limiter);

impl HealthCheck for LimiterCheck {
    fn name(&self) -> &str {
        "rate_limiter"
    }
    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            match (&self.0.inner.redis, self.0.shared()) {
                (None, _) => CheckOutcome::pass("in-process (no REDIS_URL)"),
                (Some(_), true) => CheckOutcome::pass("shared through redis"),
                (Some(_), false) => match self.0.inner.on_redis_down {
                    RedisDown::Fallback => {
                        CheckOutcome::warn("redis unavailable: in-process fallback")
                    }
                    RedisDown::Closed => {
                        CheckOutcome::fail("redis unavailable: limited requests are refused")
                    }
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_reject_nonsense() {
        assert_eq!(
            "100/900".parse::<Rate>(),
            Ok(Rate {
                limit: 100,
                period: Duration::from_secs(900)
            })
        );
        assert!("0/10".parse::<Rate>().is_err());
        assert!("10".parse::<Rate>().is_err());
        assert!("10/-1".parse::<Rate>().is_err());
    }

    #[test]
    fn gcra_allows_a_burst_of_n_then_one_per_interval() {
        let rate = Rate {
            limit: 5,
            period: Duration::from_secs(10),
        };
        let mut tat = None;
        let now = 1_000_000_000;
        for i in 0..5 {
            let (d, store) = gcra(rate, Mode::Take, tat, now);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 4 - i);
            tat = store;
        }
        let (denied, store) = gcra(rate, Mode::Take, tat, now);
        assert!(!denied.allowed);
        assert!(store.is_none());
        assert_eq!(denied.retry_after, Duration::from_secs(2));
        // One interval later, exactly one more.
        let later = now + 2_000_000;
        assert!(gcra(rate, Mode::Take, tat, later).0.allowed);
    }

    #[test]
    fn a_refund_gives_back_one_take_and_never_more_than_a_full_bucket() {
        let rate = Rate {
            limit: 2,
            period: Duration::from_secs(10),
        };
        let now = 1_000_000_000;
        let (_, tat) = gcra(rate, Mode::Take, None, now);
        let (_, tat) = gcra(rate, Mode::Take, tat, now);
        assert!(!gcra(rate, Mode::Take, tat, now).0.allowed);
        let (refund, tat) = gcra(rate, Mode::Refund, tat, now);
        assert_eq!(refund.remaining, 1);
        assert!(gcra(rate, Mode::Take, tat, now).0.allowed);
        // Refunding an empty bucket leaves it empty: no credit beyond the limit.
        let (refund, tat) = gcra(rate, Mode::Refund, None, now);
        assert_eq!((refund.remaining, tat), (2, Some(now)));
    }

    #[test]
    fn check_mode_records_nothing() {
        let rate = Rate {
            limit: 1,
            period: Duration::from_secs(10),
        };
        let (d, store) = gcra(rate, Mode::Check, None, 5);
        assert!(d.allowed && store.is_none());
        assert_eq!(d.remaining, 1);
    }

    #[tokio::test]
    async fn a_tls_redis_url_is_accepted_and_an_unreachable_one_falls_back() {
        let limiter = Limiter::new(
            Some("rediss://127.0.0.1:1"),
            "t",
            Duration::from_millis(100),
            RedisDown::Fallback,
        )
        .expect("rediss:// URLs are supported");
        let rate = Rate {
            limit: 1,
            period: Duration::from_secs(60),
        };
        let first = limiter
            .decide("c", "k", rate, Mode::Take)
            .await
            .expect("fallback decides");
        let second = limiter
            .decide("c", "k", rate, Mode::Take)
            .await
            .expect("fallback decides");
        assert!(first.allowed && !second.allowed);
        assert!(!limiter.shared());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
    }
}
