//! The tickets service's own problem types, beside the platform's shared table
//! (`docket_platform::problem`): the two a versioned PATCH can meet. Only this service versions
//! what it stores, so only it knows these words.

use docket_platform::{
    ApiError,
    problem::{ProblemType, StatusCode},
};

/// `If-Match` named a version the ticket is no longer at: 412.
pub const STALE_VERSION: ProblemType = ProblemType {
    status: StatusCode::PRECONDITION_FAILED,
    slug: "stale-version",
    title: "Precondition failed",
};

/// A PATCH without `If-Match` or a body `version`: 428.
pub const VERSION_REQUIRED: ProblemType = ProblemType {
    status: StatusCode::PRECONDITION_REQUIRED,
    slug: "version-required",
    title: "Precondition required",
};

pub fn stale_version(detail: impl Into<String>) -> ApiError {
    ApiError::Typed(STALE_VERSION, detail.into())
}

pub fn version_required(detail: impl Into<String>) -> ApiError {
    ApiError::Typed(VERSION_REQUIRED, detail.into())
}
