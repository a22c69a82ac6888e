//! Named leases in the database: one holder at a time, until an expiry, so that of several
//! replicas only one does a piece of periodic work (the sweep).
//!
//! Taking a lease is one statement, `INSERT … ON CONFLICT DO UPDATE … WHERE`, which SQLite
//! (3.24+) and Postgres both run atomically: it inserts the lease when nobody has it, renews it
//! for its holder, and takes it over once it has expired — and changes nothing otherwise.

use sqlx::AnyPool;

/// Takes or renews `name` for `holder` until `now_ms + ttl_ms`; false when another holder's
/// lease has not expired yet.
#[tracing::instrument(skip(pool))]
pub async fn take(
    pool: &AnyPool,
    name: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
    )
    .bind(name)
    .bind(holder)
    .bind(now_ms.saturating_add(ttl_ms))
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The current holder and expiry of `name` (tests and operators).
pub async fn holder(pool: &AnyPool, name: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    use sqlx::Row as _;
    sqlx::query("SELECT holder, expires_at FROM leases WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?
        .map(|r| Ok((r.try_get("holder")?, r.try_get("expires_at")?)))
        .transpose()
}
