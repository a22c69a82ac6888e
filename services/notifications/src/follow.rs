//! Following the tickets service's history: read a page of the event feed after the stored
//! cursor, work out each event's recipients, render their mail, and write the mail and the
//! new cursor in one transaction ([`outbox::apply_batch`]).
//!
//! At-least-once in, exactly-once out: a crash (of either service) before the commit means
//! the page is read again from the old cursor, and the outbox's unique key on (event,
//! recipient, kind) makes the second application write nothing that the first did.
//! One follower runs per replica; two replicas reading the same page write the same rows
//! and one of each pair is dropped by the key.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use docket_platform::auth::Role;
use uuid::Uuid;

use crate::{
    api::AppState,
    clients::{FeedItem, UserInfo},
    domain::{
        Kind,
        message::{self, Context},
        rules::{self, EventFacts, Happening},
    },
    repo::{
        outbox::{self, NewMail},
        preferences,
    },
};

/// Runs until the process ends: a full page is followed at once by the next; an empty or
/// partial one waits `poll_interval`. Errors (the tickets service down, the database busy)
/// are logged and retried after a pause.
pub async fn run(state: AppState) {
    loop {
        match step(&state).await {
            Ok(Progress::More) => continue,
            Ok(Progress::CaughtUp) => tokio::time::sleep(state.settings.poll_interval).await,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "reading the event feed failed");
                tokio::time::sleep(state.settings.poll_interval.max(Duration::from_secs(1))).await;
            }
        }
    }
}

enum Progress {
    More,
    CaughtUp,
}

/// One page: read, decide, write.
async fn step(state: &AppState) -> anyhow::Result<Progress> {
    let cursor = outbox::cursor(&state.db).await?;
    let limit = state.settings.batch_size;
    let page = state.clients.feed(cursor.as_deref(), limit).await?;
    let Some(next) = page.next_cursor.clone() else {
        return Ok(Progress::CaughtUp);
    };
    if page.items.is_empty() {
        return Ok(Progress::CaughtUp);
    }
    let full = page.items.len() as u32 >= limit;
    let mails = plan(state, &page.items).await?;
    let written = outbox::apply_batch(&state.db, mails, &next).await?;
    tracing::info!(
        events = page.items.len(),
        mails = written,
        "event feed applied"
    );
    if written > 0 {
        state.new_mail.notify_one();
    }
    Ok(if full {
        Progress::More
    } else {
        Progress::CaughtUp
    })
}

fn facts(item: &FeedItem) -> EventFacts {
    let happening = match item.kind.as_str() {
        "created" => Happening::Created,
        "comment_added" => Happening::Comment {
            internal: item.internal
                || item.data.get("internal").and_then(|v| v.as_bool()) == Some(true),
        },
        "assignee_changed" => Happening::Assigned {
            to: item
                .data
                .get("to")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok()),
        },
        "status_changed" => Happening::StatusChanged {
            to: item
                .data
                .get("to")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
        },
        _ => Happening::Other,
    };
    EventFacts {
        happening,
        actor: item.actor_id,
        requester: item.requester_id,
        assignee: item.assignee_id,
    }
}

/// An event, what the rules see in it, and whom they name.
type Planned<'a> = (&'a FeedItem, EventFacts, Vec<(Uuid, Kind)>);

/// The mail a page of events produces, after preferences.
async fn plan(state: &AppState, items: &[FeedItem]) -> anyhow::Result<Vec<NewMail>> {
    // Staff-only opt-in kinds: those who opted in *and* are active staff now.
    let staff: HashSet<Uuid> = state
        .clients
        .staff()
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut opted_in: HashMap<Kind, Vec<Uuid>> = HashMap::new();
    let mut opted_out: HashSet<(Uuid, Kind)> = HashSet::new();
    for kind in Kind::ALL {
        let stored = preferences::users_with(&state.db, kind, !kind.on_by_default()).await?;
        let ids = stored.iter().filter_map(|u| Uuid::parse_str(u).ok());
        if kind.on_by_default() {
            opted_out.extend(ids.map(|u| (u, kind)));
        } else {
            opted_in.insert(kind, ids.filter(|u| staff.contains(u)).collect());
        }
    }
    let planned: Vec<Planned<'_>> = items
        .iter()
        .map(|item| {
            let f = facts(item);
            let to = rules::recipients(&f, |k| opted_in.get(&k).cloned().unwrap_or_default());
            (item, f, to)
        })
        .collect();
    let mut wanted: HashSet<Uuid> = HashSet::new();
    for (item, _, to) in &planned {
        wanted.insert(item.actor_id);
        wanted.extend(to.iter().map(|(u, _)| *u));
    }
    let users = state
        .clients
        .users(&wanted.into_iter().collect::<Vec<_>>())
        .await?;
    let domain = state.settings.mail_domain();
    let mut mails = Vec::new();
    for (item, f, to) in planned {
        let internal = matches!(f.happening, Happening::Comment { internal: true });
        let actor_name = users
            .get(&item.actor_id)
            .map_or("Someone", |u| u.name.as_str());
        for (recipient, kind) in to {
            if opted_out.contains(&(recipient, kind)) {
                continue;
            }
            let Some(user) = users.get(&recipient) else {
                continue;
            };
            if !deliverable(user, kind, internal) {
                continue;
            }
            let token = state.signer.unsubscribe(recipient, kind);
            let r = message::render(&Context {
                kind,
                event_id: item.id,
                ticket_id: item.ticket_id,
                ticket_subject: &item.subject,
                recipient_id: recipient,
                recipient_name: &user.name,
                actor_name,
                comment: item.comment_body.as_deref(),
                status: item
                    .data
                    .get("to")
                    .and_then(|v| v.as_str())
                    .filter(|_| kind == Kind::Resolved),
                public_url: &state.settings.public_url,
                domain: &domain,
                unsubscribe_token: &token,
            });
            mails.push(NewMail {
                event_id: item.id.to_string(),
                ticket_id: item.ticket_id.to_string(),
                recipient_id: recipient.to_string(),
                recipient_email: user.email.clone(),
                kind: kind.as_str().to_owned(),
                subject: r.subject,
                body_text: r.text,
                body_html: r.html,
                message_id: r.message_id,
                headers: serde_json::json!({
                    "in_reply_to": r.in_reply_to,
                    "references": r.references,
                    "list_unsubscribe": r.list_unsubscribe,
                }),
            });
        }
    }
    Ok(mails)
}

/// The last word on a recipient: active, with a role the kind is for, and never a
/// non-staff user for an internal note (whatever the rules table said).
fn deliverable(user: &UserInfo, kind: Kind, internal: bool) -> bool {
    let staff = matches!(user.role, Role::Agent | Role::Admin);
    user.active && (staff || (!internal && !kind.staff_only()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, active: bool) -> UserInfo {
        UserInfo {
            id: Uuid::nil(),
            email: "u@example.com".into(),
            name: "U".into(),
            role,
            active,
        }
    }

    #[test]
    fn a_requester_never_gets_an_internal_note_or_a_staff_kind_and_inactive_users_nothing() {
        assert!(!deliverable(
            &user(Role::Requester, true),
            Kind::Reply,
            true
        ));
        assert!(!deliverable(
            &user(Role::Requester, true),
            Kind::Assigned,
            false
        ));
        assert!(deliverable(
            &user(Role::Requester, true),
            Kind::Reply,
            false
        ));
        assert!(deliverable(&user(Role::Agent, true), Kind::Reply, true));
        assert!(!deliverable(&user(Role::Agent, false), Kind::Reply, false));
    }
}
