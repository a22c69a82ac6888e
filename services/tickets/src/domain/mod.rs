//! Input parsed into types that say what has been checked, and the access rules. Pure;
//! unit-tested here.

pub mod access;
mod search;
mod text;

pub use search::SearchQuery;
pub use text::{CommentBody, Description, Subject};

use poem_openapi::Enum;
use serde::{Deserialize, Serialize};

/// Where a ticket is in its life. New tickets start `open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    Waiting,
    Resolved,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Waiting => "waiting",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "open" => Status::Open,
            "in_progress" => Status::InProgress,
            "waiting" => Status::Waiting,
            "resolved" => Status::Resolved,
            "closed" => Status::Closed,
            other => return Err(format!("{other:?} is not a status")),
        })
    }
}

/// How urgent a ticket is. Defaults to `normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl std::str::FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            "urgent" => Priority::Urgent,
            other => return Err(format!("{other:?} is not a priority")),
        })
    }
}

/// The kinds of history event (`events.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    StatusChanged,
    PriorityChanged,
    AssigneeChanged,
    Updated,
    CommentAdded,
    AttachmentAdded,
    AttachmentRemoved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::StatusChanged => "status_changed",
            EventKind::PriorityChanged => "priority_changed",
            EventKind::AssigneeChanged => "assignee_changed",
            EventKind::Updated => "updated",
            EventKind::CommentAdded => "comment_added",
            EventKind::AttachmentAdded => "attachment_added",
            EventKind::AttachmentRemoved => "attachment_removed",
        }
    }

    /// The kinds another service may append (the attachments service, through
    /// `/internal/tickets/{id}/events`).
    pub fn parse_external(raw: &str) -> Option<Self> {
        match raw {
            "attachment_added" => Some(EventKind::AttachmentAdded),
            "attachment_removed" => Some(EventKind::AttachmentRemoved),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_priorities_round_trip_through_their_names() {
        for s in [
            Status::Open,
            Status::InProgress,
            Status::Waiting,
            Status::Resolved,
            Status::Closed,
        ] {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        for p in [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ] {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
        }
        assert!("bogus".parse::<Status>().is_err());
    }

    #[test]
    fn only_attachment_events_may_come_from_outside() {
        assert_eq!(
            EventKind::parse_external("attachment_added"),
            Some(EventKind::AttachmentAdded)
        );
        assert_eq!(EventKind::parse_external("status_changed"), None);
        assert_eq!(EventKind::parse_external("created"), None);
    }
}
