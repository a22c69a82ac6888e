//! Each user's choice per kind of mail. No row: the kind's default.

use std::collections::HashMap;

use docket_platform::db::{Db, now_ms};
use sqlx::Row;

use super::{Arg, query_with};
use crate::domain::Kind;

/// A user's stored choices (kinds without a row are absent).
pub async fn for_user(db: &Db, user: &str) -> Result<HashMap<Kind, bool>, sqlx::Error> {
    let rows = query_with(
        "SELECT kind, enabled FROM preferences WHERE user_id = $1",
        vec![Arg::Text(user.to_owned())],
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = HashMap::new();
    for r in rows {
        let kind: String = r.try_get("kind")?;
        if let Some(k) = Kind::parse(&kind) {
            out.insert(k, r.try_get::<i64, _>("enabled")? != 0);
        }
    }
    Ok(out)
}

pub async fn set(db: &Db, user: &str, kind: Kind, enabled: bool) -> Result<(), sqlx::Error> {
    query_with(
        "INSERT INTO preferences (user_id, kind, enabled, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, kind) DO UPDATE SET enabled = excluded.enabled, \
         updated_at = excluded.updated_at",
        vec![
            Arg::Text(user.to_owned()),
            Arg::Text(kind.as_str().to_owned()),
            Arg::Int(i64::from(enabled)),
            Arg::Int(now_ms()),
        ],
    )
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Users who switched a kind on (for the opt-in kinds) or off (for the others).
pub async fn users_with(db: &Db, kind: Kind, enabled: bool) -> Result<Vec<String>, sqlx::Error> {
    query_with(
        "SELECT user_id FROM preferences WHERE kind = $1 AND enabled = $2",
        vec![
            Arg::Text(kind.as_str().to_owned()),
            Arg::Int(i64::from(enabled)),
        ],
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("user_id"))
    .collect()
}
