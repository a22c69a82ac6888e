//! Users.

use docket_platform::{
    auth::Role,
    db::{Arg, Db, now_ms, query_with},
    pagination::Cursor,
};
use sqlx::{AnyPool, Row, any::AnyRow};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
}

const COLUMNS: &str = "id, email, name, password_hash, role, active, created_at";

fn from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let role: String = row.try_get("role")?;
    Ok(UserRow {
        id: Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(e.into()))?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: role
            .parse()
            .map_err(|e: String| sqlx::Error::Decode(e.into()))?,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

/// Inserts a user; a taken email surfaces as a unique violation.
#[tracing::instrument(skip_all)]
pub async fn insert(pool: &AnyPool, new: NewUser<'_>) -> Result<UserRow, sqlx::Error> {
    let now = now_ms();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, role, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
    )
    .bind(id.to_string())
    .bind(new.email)
    .bind(new.name)
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(now)
    .execute(pool)
    .await?;
    Ok(UserRow {
        id,
        email: new.email.to_owned(),
        name: new.name.to_owned(),
        password_hash: new.password_hash.to_owned(),
        role: new.role,
        active: true,
        created_at: now,
    })
}

#[tracing::instrument(skip_all)]
pub async fn find_by_email(pool: &AnyPool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

#[tracing::instrument(skip(pool))]
pub async fn find_by_id(pool: &AnyPool, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

#[derive(Debug, Default)]
pub struct ListFilter {
    pub roles: Vec<Role>,
    pub active: Option<bool>,
    /// Case-insensitive substring of email or name.
    pub q: Option<String>,
}

/// Newest first, keyset-paginated; fetches `limit + 1` rows so the caller knows if more exist.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    filter: &ListFilter,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM users WHERE 1 = 1");
    let mut args: Vec<Arg> = Vec::new();
    if !filter.roles.is_empty() {
        let marks: Vec<String> = filter
            .roles
            .iter()
            .map(|r| {
                args.push(Arg::Text(r.as_str().to_owned()));
                format!("${}", args.len())
            })
            .collect();
        sql.push_str(&format!(" AND role IN ({})", marks.join(", ")));
    }
    if let Some(active) = filter.active {
        args.push(Arg::Int(i64::from(active)));
        sql.push_str(&format!(" AND active = ${}", args.len()));
    }
    if let Some(q) = &filter.q {
        let pattern = format!(
            "%{}%",
            q.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        args.push(Arg::Text(pattern));
        let n = args.len();
        sql.push_str(&format!(
            " AND (email LIKE ${n} ESCAPE '\\' OR LOWER(name) LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(c) = after {
        args.push(Arg::Int(c.at));
        args.push(Arg::Text(c.id.clone()));
        let (a, b) = (args.len() - 1, args.len());
        sql.push_str(&format!(
            " AND (created_at < ${a} OR (created_at = ${a} AND id < ${b}))"
        ));
    }
    args.push(Arg::Int(i64::from(limit) + 1));
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ${}",
        args.len()
    ));
    query_with(&sql, args)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Changes role and/or active flag; returns the updated row, or `None` for an unknown id.
#[tracing::instrument(skip(pool))]
pub async fn update(
    pool: &AnyPool,
    id: Uuid,
    role: Option<Role>,
    active: Option<bool>,
) -> Result<Option<UserRow>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let result = sqlx::query(
        "UPDATE users SET role = COALESCE($1, role), active = COALESCE($2, active), updated_at = $3 WHERE id = $4",
    )
    .bind(role.map(Role::as_str))
    .bind(active.map(i64::from))
    .bind(now_ms())
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    from_row(&row).map(Some)
}

/// How many active admins there are (the last one may not demote or deactivate themselves).
pub async fn count_active_admins(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND active = 1")
        .fetch_one(pool)
        .await?
        .try_get("n")
}
