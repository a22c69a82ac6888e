//! Calls from one service to another.
//!
//! Every call has a connect timeout and a total timeout, forwards the current request id and,
//! when acting for a user, their bearer token. Transport failures become problems a client can
//! read — 502 when the other service cannot be reached, 504 when it is too slow — never a hang.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::{
    middleware::{REQUEST_ID_HEADER, current_request_id},
    problem::ApiError,
};

#[derive(Debug, Clone)]
pub struct ServiceClient {
    name: &'static str,
    base: String,
    http: reqwest::Client,
}

impl ServiceClient {
    pub fn new(name: &'static str, base_url: &str, connect: Duration, total: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Self {
            name,
            base: base_url.trim_end_matches('/').to_owned(),
            http,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A request with the request id and (when given) the caller's token attached.
    pub fn request(&self, method: Method, path: &str, bearer: Option<&str>) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(id) = current_request_id() {
            rb = rb.header(REQUEST_ID_HEADER, id);
        }
        if let Some(token) = bearer {
            rb = rb.bearer_auth(token);
        }
        rb
    }

    /// Sends, mapping transport errors to 502/504 problems.
    pub async fn send(&self, rb: RequestBuilder) -> Result<Response, ApiError> {
        rb.send().await.map_err(|e| self.transport_error(&e))
    }

    /// Sends and decodes a 2xx JSON body; a 404 becomes `Ok(None)`; other statuses are errors.
    pub async fn json_or_none<T: DeserializeOwned>(
        &self,
        rb: RequestBuilder,
    ) -> Result<Option<T>, ApiError> {
        let resp = self.send(rb).await?;
        match resp.status() {
            s if s.is_success() => resp
                .json()
                .await
                .map(Some)
                .map_err(|e| self.transport_error(&e)),
            StatusCode::NOT_FOUND => Ok(None),
            other => Err(self.status_error(other)),
        }
    }

    pub fn transport_error(&self, e: &reqwest::Error) -> ApiError {
        tracing::warn!(service = self.name, error = %e, "service call failed");
        if e.is_timeout() {
            ApiError::GatewayTimeout(format!("The {} service did not answer in time.", self.name))
        } else {
            ApiError::BadGateway(format!("The {} service is unavailable.", self.name))
        }
    }

    /// An unexpected status from the other service.
    pub fn status_error(&self, status: StatusCode) -> ApiError {
        match status {
            StatusCode::UNAUTHORIZED => {
                ApiError::Unauthorized("The access token is invalid or expired.".into())
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                ApiError::ServiceUnavailable(format!("The {} service is unavailable.", self.name))
            }
            s => {
                tracing::warn!(
                    service = self.name,
                    status = s.as_u16(),
                    "unexpected status from service"
                );
                ApiError::BadGateway(format!("The {} service answered with an error.", self.name))
            }
        }
    }
}

pub use reqwest::Method as HttpMethod;
