//! Who may do what with tickets: the one place that decides it.
//!
//! - Requesters see their own tickets only; anyone else's is invisible (404, never 403).
//!   On their own they may read, comment (not internally), edit subject and description, and
//!   close (status → `closed`); any other field is a 403. Priority they set only at creation.
//! - Agents and admins see every ticket, change every field, and post internal notes.
//! - Only admins delete.
//! - Internal notes, and the events about them, are seen by agents and admins only.
//!
//! Handlers ask [`ticket_access`] first; `None` means "answer 404 before anything else".

use docket_platform::{
    ApiError,
    auth::{CurrentUser, Role},
};
use uuid::Uuid;

use super::Status;

/// Which tickets a caller's lists may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    Everything,
    /// Only tickets whose requester is this user.
    RequestedBy(Uuid),
}

pub fn list_scope(user: &CurrentUser) -> ListScope {
    if user.role.is_staff() {
        ListScope::Everything
    } else {
        ListScope::RequestedBy(user.id)
    }
}

/// What one caller is granted on one ticket it can see: its role, and whether it is the
/// ticket's requester. (The attachments service's `TicketPermissions` is this, as the
/// `/internal/tickets/{id}/access` answer carries it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    role: Role,
    owner: bool,
}

/// A refusal for a ticket the caller can see: a 403 with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub &'static str);

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        ApiError::Forbidden(d.0.to_owned())
    }
}

/// `None` when the ticket is invisible to the caller (answer 404).
pub fn ticket_access(user: &CurrentUser, requester_id: Uuid) -> Option<Grant> {
    let owner = user.id == requester_id;
    (owner || user.role.is_staff()).then_some(Grant {
        role: user.role,
        owner,
    })
}

/// The fields a PATCH tries to change (present in the body), for [`Grant::may_patch`].
#[derive(Debug, Clone, Default)]
pub struct PatchFields {
    pub subject: bool,
    pub description: bool,
    pub status: Option<Status>,
    pub priority: bool,
    pub assignee: bool,
}

impl Grant {
    /// Agents and admins: every field, internal notes, assignment.
    pub fn can_manage(&self) -> bool {
        self.role.is_staff()
    }

    pub fn sees_internal(&self) -> bool {
        self.role.is_staff()
    }

    pub fn is_requester_of_it(&self) -> bool {
        self.owner
    }

    pub fn may_comment(&self, internal: bool) -> Result<(), Denied> {
        if internal && !self.role.is_staff() {
            return Err(Denied("Only agents and admins may post internal notes."));
        }
        Ok(())
    }

    pub fn may_patch(&self, fields: &PatchFields) -> Result<(), Denied> {
        if self.role.is_staff() {
            return Ok(());
        }
        if fields.priority {
            return Err(Denied(
                "Requesters set the priority only when opening a ticket.",
            ));
        }
        if fields.assignee {
            return Err(Denied("Only agents and admins may assign tickets."));
        }
        match fields.status {
            None | Some(Status::Closed) => Ok(()),
            Some(_) => Err(Denied(
                "Requesters may only close their tickets (status \"closed\").",
            )),
        }
    }

    pub fn may_delete(&self) -> Result<(), Denied> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(Denied("Only admins may delete tickets."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> CurrentUser {
        CurrentUser {
            id: Uuid::new_v4(),
            role,
            token: String::new(),
        }
    }

    #[test]
    fn requesters_see_only_their_own_and_staff_see_all() {
        let owner = user(Role::Requester);
        let other = user(Role::Requester);
        assert!(ticket_access(&owner, owner.id).is_some());
        assert!(ticket_access(&other, owner.id).is_none());
        assert!(ticket_access(&user(Role::Agent), owner.id).is_some());
        assert!(ticket_access(&user(Role::Admin), owner.id).is_some());
        assert_eq!(list_scope(&owner), ListScope::RequestedBy(owner.id));
        assert_eq!(list_scope(&user(Role::Agent)), ListScope::Everything);
    }

    #[test]
    fn requesters_edit_text_and_close_but_touch_nothing_else() {
        let owner = user(Role::Requester);
        let a = ticket_access(&owner, owner.id).unwrap();
        let text = PatchFields {
            subject: true,
            description: true,
            ..Default::default()
        };
        assert!(a.may_patch(&text).is_ok());
        let close = PatchFields {
            status: Some(Status::Closed),
            ..Default::default()
        };
        assert!(a.may_patch(&close).is_ok());
        for status in [
            Status::Open,
            Status::InProgress,
            Status::Waiting,
            Status::Resolved,
        ] {
            let f = PatchFields {
                status: Some(status),
                ..Default::default()
            };
            assert!(a.may_patch(&f).is_err(), "{status:?}");
        }
        for f in [
            PatchFields {
                priority: true,
                ..Default::default()
            },
            PatchFields {
                assignee: true,
                ..Default::default()
            },
        ] {
            assert!(a.may_patch(&f).is_err());
        }
        assert!(a.may_comment(false).is_ok());
        assert!(a.may_comment(true).is_err());
        assert!(!a.sees_internal());
        assert!(a.may_delete().is_err());
    }

    #[test]
    fn agents_manage_everything_but_only_admins_delete() {
        let requester = Uuid::new_v4();
        let agent = ticket_access(&user(Role::Agent), requester).unwrap();
        let admin = ticket_access(&user(Role::Admin), requester).unwrap();
        let all = PatchFields {
            subject: true,
            description: true,
            status: Some(Status::Open),
            priority: true,
            assignee: true,
        };
        for a in [agent, admin] {
            assert!(a.may_patch(&all).is_ok());
            assert!(a.may_comment(true).is_ok());
            assert!(a.sees_internal());
            assert!(a.can_manage());
        }
        assert!(agent.may_delete().is_err());
        assert!(admin.may_delete().is_ok());
    }
}
