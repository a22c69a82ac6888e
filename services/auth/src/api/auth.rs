//! Register, sign in, refresh, sign out, who am I, and the key set.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use docket_platform::{
    ApiError, ApiResult,
    auth::{BearerAuth, Role},
    body::{JsonBody, OptionalJsonBody},
    db::{Db, now_ms},
};
use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, Tags, payload::Json, types::Example};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{AppState, User};
use crate::{
    domain::{DisplayName, Email, Password},
    repo::{
        refresh_tokens,
        users::{self, NewUser, UserRow},
    },
};

pub const REFRESH_COOKIE: &str = "docket_refresh";

#[derive(Tags)]
enum Tag {
    /// Accounts and sessions
    Auth,
}

/// Sign-up details.
#[derive(Object)]
#[oai(example)]
pub struct RegisterRequest {
    /// An email address (ASCII, one `@`, a dotted domain); trimmed and lower-cased.
    #[oai(validator(
        max_length = 254,
        pattern = r"^[ \t\r\n]*[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+[ \t\r\n]*$"
    ))]
    pub email: String,
    /// 8 characters to 256 bytes.
    #[oai(validator(min_length = 8, max_length = 256))]
    pub password: String,
    /// How the person is shown to agents: 1–100 characters, not only spaces, no control
    /// characters; trimmed.
    #[oai(validator(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    ))]
    pub name: String,
}

/// Any strings: a malformed email is the same 401 as a wrong password.
#[derive(Object)]
#[oai(example)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

impl Example for RegisterRequest {
    fn example() -> Self {
        Self {
            email: "riley@example.com".into(),
            password: "correct horse battery".into(),
            name: "Riley Requester".into(),
        }
    }
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            email: "riley@example.com".into(),
            password: "correct horse battery".into(),
        }
    }
}

/// For API clients without cookies: the refresh token in the body (the `docket_refresh`
/// cookie wins when both are sent).
#[derive(Object)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// A signed-in session.
#[derive(Object)]
pub struct AuthResponse {
    pub user: User,
    /// A short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// An opaque token for `POST /api/auth/refresh`; also set as the `docket_refresh` cookie.
    pub refresh_token: String,
}

/// The public keys that verify access tokens (RFC 7517).
#[derive(Object)]
pub struct Jwks {
    pub keys: Vec<serde_json::Value>,
}

#[derive(ApiResponse)]
pub enum Issued {
    /// Account created and signed in.
    #[oai(status = 201)]
    Created(Json<AuthResponse>, #[oai(header = "Set-Cookie")] String),
    /// Signed in.
    #[oai(status = 200)]
    Ok(Json<AuthResponse>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
pub enum LoggedOut {
    /// The refresh token is revoked and the cookie cleared.
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] String),
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The refresh token from the cookie, else from a JSON body `{refresh_token}`. The body is
/// looked at only without the cookie, so a browser's stray body never gets in the way.
fn presented_refresh_token(
    req: &Request,
    body: OptionalJsonBody<RefreshRequest>,
) -> ApiResult<Option<String>> {
    let from_cookie = req
        .headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty());
    if from_cookie.is_some() {
        return Ok(from_cookie);
    }
    Ok(body
        .into_inner()?
        .and_then(|b| b.refresh_token)
        .filter(|t| !t.is_empty()))
}

impl AppState {
    fn cookie(&self, value: &str, max_age: u64) -> String {
        let secure = if self.settings.cookie_secure {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{REFRESH_COOKIE}={value}; Path=/api/auth; HttpOnly{secure}; SameSite=Strict; Max-Age={max_age}"
        )
    }

    /// Issues an access token and a refresh token in `family` (a new family when `None`).
    async fn issue(
        &self,
        user: UserRow,
        family: Option<String>,
    ) -> ApiResult<(AuthResponse, String)> {
        let ttl = self.settings.access_token_ttl.as_secs();
        let access_token = self
            .keys
            .sign_access_token(user.id, user.role, ttl as i64)?;
        let refresh_token = new_refresh_token();
        let refresh_ttl = self.settings.refresh_token_ttl;
        let family = family.unwrap_or_else(|| Uuid::new_v4().to_string());
        refresh_tokens::insert(
            &self.db.pool,
            user.id,
            &family,
            &hash_token(&refresh_token),
            now_ms() + refresh_ttl.as_millis() as i64,
        )
        .await?;
        let cookie = self.cookie(&refresh_token, refresh_ttl.as_secs());
        Ok((
            AuthResponse {
                user: user.into(),
                access_token,
                token_type: "Bearer".into(),
                expires_in: ttl,
                refresh_token,
            },
            cookie,
        ))
    }
}

/// Accounts and sessions.
pub struct AuthApi;

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Create an account (as a requester) and sign in.
    #[oai(path = "/api/auth/register", method = "post")]
    async fn register(
        &self,
        state: Data<&AppState>,
        body: JsonBody<RegisterRequest>,
    ) -> ApiResult<Issued> {
        let body = body.into_inner()?;
        let email = Email::parse(&body.email).map_err(|m| ApiError::field("email", m))?;
        let password =
            Password::parse(&body.password).map_err(|m| ApiError::field("password", m))?;
        let name = DisplayName::parse(&body.name).map_err(|m| ApiError::field("name", m))?;
        let hash = state.hasher.hash(&password).await?;
        let new = NewUser {
            email: email.as_str(),
            name: name.as_str(),
            password_hash: &hash,
            role: Role::Requester,
        };
        let user = match users::insert(&state.db.pool, new).await {
            Ok(user) => user,
            Err(e) if Db::is_unique_violation(&e) => {
                return Err(ApiError::Conflict(
                    "An account with this email already exists.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(user_id = %user.id, "account registered");
        let (resp, cookie) = state.issue(user, None).await?;
        Ok(Issued::Created(Json(resp), cookie))
    }

    /// Sign in with email and password.
    ///
    /// Unknown emails and wrong passwords get the same 401, in about the same time.
    /// A deactivated account with the right password gets 403.
    #[oai(path = "/api/auth/login", method = "post")]
    async fn login(
        &self,
        state: Data<&AppState>,
        body: JsonBody<LoginRequest>,
    ) -> ApiResult<Issued> {
        let body = body.into_inner()?;
        let bad = || ApiError::Unauthorized("The email or password is incorrect.".into());
        let user = match Email::parse(&body.email) {
            Ok(email) => users::find_by_email(&state.db.pool, email.as_str()).await?,
            Err(_) => None,
        };
        let ok = state
            .hasher
            .verify(
                &body.password,
                user.as_ref().map(|u| u.password_hash.as_str()),
            )
            .await?;
        let Some(user) = user.filter(|_| ok) else {
            return Err(bad());
        };
        if !user.active {
            return Err(ApiError::Forbidden(
                "This account has been deactivated.".into(),
            ));
        }
        let (resp, cookie) = state.issue(user, None).await?;
        Ok(Issued::Ok(Json(resp), cookie))
    }

    /// Exchange a refresh token (cookie `docket_refresh` or body `{refresh_token}`) for a new
    /// session. The token rotates: each can be used once, and reusing an old one revokes every
    /// token descended from the same sign-in.
    #[oai(path = "/api/auth/refresh", method = "post")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: OptionalJsonBody<RefreshRequest>,
    ) -> ApiResult<Issued> {
        let invalid =
            || ApiError::Unauthorized("The refresh token is invalid, expired or revoked.".into());
        let token = presented_refresh_token(req, body)?.ok_or_else(invalid)?;
        let row = refresh_tokens::find_by_hash(&state.db.pool, &hash_token(&token))
            .await?
            .ok_or_else(invalid)?;
        if row.revoked_at.is_some() {
            return Err(invalid());
        }
        if row.used_at.is_some() || !refresh_tokens::mark_used(&state.db.pool, &row.id).await? {
            tracing::warn!(user_id = %row.user_id, family = %row.family_id, "refresh token reuse; revoking its family");
            refresh_tokens::revoke_family(&state.db.pool, &row.family_id).await?;
            return Err(invalid());
        }
        if row.expires_at <= now_ms() {
            return Err(invalid());
        }
        let user = users::find_by_id(&state.db.pool, row.user_id)
            .await?
            .ok_or_else(invalid)?;
        if !user.active {
            refresh_tokens::revoke_family(&state.db.pool, &row.family_id).await?;
            return Err(invalid());
        }
        let (resp, cookie) = state.issue(user, Some(row.family_id)).await?;
        Ok(Issued::Ok(Json(resp), cookie))
    }

    /// Sign out: end the presented refresh token's sign-in and clear the cookie.
    ///
    /// The refresh token (cookie or body) and every token rotated from the same sign-in are
    /// revoked. The refresh token is the session, so it is all this needs: an access token that has
    /// expired meanwhile must not leave the session alive behind "Sign out". An unknown or
    /// already revoked token is still a 204 (the session is over either way).
    #[oai(path = "/api/auth/logout", method = "post")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: OptionalJsonBody<RefreshRequest>,
    ) -> ApiResult<LoggedOut> {
        if let Some(token) = presented_refresh_token(req, body)?
            && let Some(row) =
                refresh_tokens::find_by_hash(&state.db.pool, &hash_token(&token)).await?
        {
            refresh_tokens::revoke_family(&state.db.pool, &row.family_id).await?;
            tracing::info!(user_id = %row.user_id, "signed out");
        }
        Ok(LoggedOut::NoContent(state.cookie("", 0)))
    }

    /// The signed-in user.
    #[oai(path = "/api/auth/me", method = "get")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<User>> {
        let user = users::find_by_id(&state.db.pool, auth.0.id)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| {
                ApiError::Unauthorized("This account no longer exists or is deactivated.".into())
            })?;
        Ok(Json(user.into()))
    }

    /// The public keys that verify access tokens.
    #[oai(path = "/api/auth/jwks.json", method = "get")]
    async fn jwks(&self, state: Data<&AppState>) -> Json<Jwks> {
        let keys = state.keys.jwks_json()["keys"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Json(Jwks { keys })
    }
}
