//! The HTTP API: one `#[OpenApi]` struct per resource, and the objects they exchange.

pub mod auth;
pub mod internal;
pub mod users;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use docket_platform::{
    auth::Role,
    db::{Db, from_ms},
};
use poem_openapi::Object;
use uuid::Uuid;

use crate::{Settings, domain::PasswordHasher, keys::SigningKeys, repo::users::UserRow};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Arc<SigningKeys>,
    pub hasher: PasswordHasher,
    pub settings: Arc<Settings>,
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: Uuid,
    /// Trimmed and lower-cased.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// False once an admin deactivates the account: it can no longer sign in.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            name: r.name,
            role: r.role,
            active: r.active,
            created_at: from_ms(r.created_at),
        }
    }
}

/// The OpenAPI service of this service's public API.
pub fn openapi() -> poem_openapi::OpenApiService<(auth::AuthApi, users::UsersApi), ()> {
    poem_openapi::OpenApiService::new(
        (auth::AuthApi, users::UsersApi),
        "Docket auth",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Users, passwords, tokens and roles. Paths are the public paths through the gateway.",
    )
}
