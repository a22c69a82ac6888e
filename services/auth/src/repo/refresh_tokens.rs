//! Refresh tokens: stored as SHA-256 hashes, grouped in families that rotate.
//!
//! Each use marks the token used and issues the next one in the same family. Presenting a
//! token that was already used means it was copied: the whole family is revoked, so both the
//! thief and the victim must sign in again.

use docket_platform::db::now_ms;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub user_id: Uuid,
    pub family_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[tracing::instrument(skip_all)]
pub async fn insert(
    pool: &AnyPool,
    user_id: Uuid,
    family_id: &str,
    token_hash: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(user_id.to_string())
    .bind(family_id)
    .bind(token_hash)
    .bind(now_ms())
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn find_by_hash(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<TokenRow>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let user_id: String = row.try_get("user_id")?;
    Ok(Some(TokenRow {
        id: row.try_get("id")?,
        user_id: Uuid::parse_str(&user_id).map_err(|e| sqlx::Error::Decode(e.into()))?,
        family_id: row.try_get("family_id")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    }))
}

/// Marks a token used; false when another request used or revoked it first.
#[tracing::instrument(skip(pool))]
pub async fn mark_used(pool: &AnyPool, id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

#[tracing::instrument(skip(pool))]
pub async fn revoke_family(pool: &AnyPool, family_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(family_id)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip(pool))]
pub async fn revoke_user(pool: &AnyPool, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(user_id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}
