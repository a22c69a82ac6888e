//! Who gets mail about an event: one table ([`recipients`]), tested as a matrix below.
//!
//! Invariants, whatever the table says: nobody is mailed about their own action — except the
//! confirmation of a ticket one opened, which is a receipt (with the ticket's link), not
//! news — and an event about an internal note never names the ticket's requester (the caller
//! also drops anyone whose role is not staff for such events, see `follow`).

use uuid::Uuid;

/// A kind of mail; each user can switch each one off (Profile), and the staff-only kinds
/// are off until a user opts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// To the requester: their new ticket was received, with its link.
    TicketConfirmation,
    /// To staff who opted in: a new ticket was opened.
    NewTicket,
    /// A public reply (to the requester) or a reply on a ticket one is assigned (to staff).
    Reply,
    /// To staff who opted in: the requester replied on an unassigned ticket.
    UnassignedReply,
    /// To the new assignee.
    Assigned,
    /// To the requester: their ticket was resolved or closed.
    Resolved,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::TicketConfirmation,
        Kind::NewTicket,
        Kind::Reply,
        Kind::UnassignedReply,
        Kind::Assigned,
        Kind::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::TicketConfirmation => "ticket_confirmation",
            Kind::NewTicket => "new_ticket",
            Kind::Reply => "reply",
            Kind::UnassignedReply => "unassigned_reply",
            Kind::Assigned => "assigned",
            Kind::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Sent unless the user switched it off (true), or only once they opt in (false).
    pub fn on_by_default(self) -> bool {
        !matches!(self, Kind::NewTicket | Kind::UnassignedReply)
    }

    /// Meant for agents and admins only.
    pub fn staff_only(self) -> bool {
        matches!(
            self,
            Kind::NewTicket | Kind::UnassignedReply | Kind::Assigned
        )
    }

    pub fn description(self) -> &'static str {
        match self {
            Kind::TicketConfirmation => "A confirmation when you open a ticket",
            Kind::NewTicket => "Every new ticket (staff)",
            Kind::Reply => "Replies on your tickets and on tickets assigned to you",
            Kind::UnassignedReply => "Requester replies on unassigned tickets (staff)",
            Kind::Assigned => "A ticket was assigned to you (staff)",
            Kind::Resolved => "Your ticket was resolved or closed",
        }
    }
}

/// What the rules look at in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    Created,
    Comment {
        internal: bool,
    },
    Assigned {
        to: Option<Uuid>,
    },
    StatusChanged {
        to: String,
    },
    /// Anything that mails nobody (priority, edits, attachments).
    Other,
}

#[derive(Debug, Clone)]
pub struct EventFacts {
    pub happening: Happening,
    pub actor: Uuid,
    pub requester: Uuid,
    pub assignee: Option<Uuid>,
}

/// The recipients of one event: `(user, kind)`, before preferences, without the actor.
/// `opted_in(kind)` lists the staff who opted in to a staff-only kind.
pub fn recipients(facts: &EventFacts, opted_in: impl Fn(Kind) -> Vec<Uuid>) -> Vec<(Uuid, Kind)> {
    let mut out: Vec<(Uuid, Kind)> = match &facts.happening {
        Happening::Created => std::iter::once((facts.requester, Kind::TicketConfirmation))
            .chain(
                opted_in(Kind::NewTicket)
                    .into_iter()
                    .map(|u| (u, Kind::NewTicket)),
            )
            .collect(),
        Happening::Comment { internal: true } => facts
            .assignee
            .map(|a| (a, Kind::Reply))
            .into_iter()
            .collect(),
        Happening::Comment { internal: false } if facts.actor != facts.requester => {
            vec![(facts.requester, Kind::Reply)]
        }
        Happening::Comment { internal: false } => match facts.assignee {
            Some(a) => vec![(a, Kind::Reply)],
            None => opted_in(Kind::UnassignedReply)
                .into_iter()
                .map(|u| (u, Kind::UnassignedReply))
                .collect(),
        },
        Happening::Assigned { to: Some(to) } => vec![(*to, Kind::Assigned)],
        Happening::Assigned { to: None } => Vec::new(),
        Happening::StatusChanged { to } if to == "resolved" || to == "closed" => {
            vec![(facts.requester, Kind::Resolved)]
        }
        Happening::StatusChanged { .. } | Happening::Other => Vec::new(),
    };
    if matches!(facts.happening, Happening::Comment { internal: true }) {
        out.retain(|(u, _)| *u != facts.requester);
    }
    out.retain(|(u, k)| *u != facts.actor || *k == Kind::TicketConfirmation);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    const REQ: u128 = 1;
    const AGENT: u128 = 2;
    const OTHER_AGENT: u128 = 3;
    const WATCHER: u128 = 4;

    fn facts(happening: Happening, actor: u128, assignee: Option<u128>) -> EventFacts {
        EventFacts {
            happening,
            actor: id(actor),
            requester: id(REQ),
            assignee: assignee.map(id),
        }
    }

    fn run(f: &EventFacts) -> Vec<(Uuid, Kind)> {
        recipients(f, |_| vec![id(WATCHER), id(OTHER_AGENT)])
    }

    /// Each row: the event, who did it, the assignee, and exactly who is mailed.
    #[test]
    fn the_recipient_matrix() {
        use Happening::*;
        use Kind::*;
        let internal = Comment { internal: true };
        let public = Comment { internal: false };
        type Row = (&'static str, EventFacts, Vec<(u128, Kind)>);
        let rows: Vec<Row> = vec![
            (
                "created by the requester",
                facts(Created, REQ, None),
                vec![
                    (REQ, TicketConfirmation),
                    (OTHER_AGENT, NewTicket),
                    (WATCHER, NewTicket),
                ],
            ),
            (
                "created by an opted-in agent for the requester",
                facts(Created, WATCHER, None),
                vec![(REQ, TicketConfirmation), (OTHER_AGENT, NewTicket)],
            ),
            (
                "staff public reply",
                facts(public.clone(), AGENT, Some(AGENT)),
                vec![(REQ, Reply)],
            ),
            (
                "staff public reply, unassigned",
                facts(public.clone(), AGENT, None),
                vec![(REQ, Reply)],
            ),
            (
                "requester reply, assigned",
                facts(public.clone(), REQ, Some(AGENT)),
                vec![(AGENT, Reply)],
            ),
            (
                "requester reply, unassigned",
                facts(public.clone(), REQ, None),
                vec![(OTHER_AGENT, UnassignedReply), (WATCHER, UnassignedReply)],
            ),
            (
                "internal note by the assignee",
                facts(internal.clone(), AGENT, Some(AGENT)),
                vec![],
            ),
            (
                "internal note by another agent",
                facts(internal.clone(), OTHER_AGENT, Some(AGENT)),
                vec![(AGENT, Reply)],
            ),
            (
                "internal note, unassigned",
                facts(internal.clone(), AGENT, None),
                vec![],
            ),
            (
                "internal note on a ticket 'assigned' to its requester",
                facts(internal, AGENT, Some(REQ)),
                vec![],
            ),
            (
                "assigned to an agent by another",
                facts(
                    Happening::Assigned {
                        to: Some(id(AGENT)),
                    },
                    OTHER_AGENT,
                    Some(AGENT),
                ),
                vec![(AGENT, Kind::Assigned)],
            ),
            (
                "an agent takes a ticket",
                facts(
                    Happening::Assigned {
                        to: Some(id(AGENT)),
                    },
                    AGENT,
                    Some(AGENT),
                ),
                vec![],
            ),
            (
                "unassigned",
                facts(Happening::Assigned { to: None }, AGENT, None),
                vec![],
            ),
            (
                "resolved",
                facts(
                    StatusChanged {
                        to: "resolved".into(),
                    },
                    AGENT,
                    Some(AGENT),
                ),
                vec![(REQ, Resolved)],
            ),
            (
                "closed by staff",
                facts(
                    StatusChanged {
                        to: "closed".into(),
                    },
                    AGENT,
                    None,
                ),
                vec![(REQ, Resolved)],
            ),
            (
                "closed by the requester",
                facts(
                    StatusChanged {
                        to: "closed".into(),
                    },
                    REQ,
                    None,
                ),
                vec![],
            ),
            (
                "waiting",
                facts(
                    StatusChanged {
                        to: "waiting".into(),
                    },
                    AGENT,
                    None,
                ),
                vec![],
            ),
            ("anything else", facts(Other, AGENT, Some(AGENT)), vec![]),
        ];
        for (name, f, want) in rows {
            let mut want: Vec<(Uuid, Kind)> = want.into_iter().map(|(u, k)| (id(u), k)).collect();
            want.sort();
            assert_eq!(run(&f), want, "{name}");
        }
    }

    #[test]
    fn kinds_round_trip_and_staff_kinds_are_opt_in() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert!(!Kind::NewTicket.on_by_default());
        assert!(Kind::Reply.on_by_default());
        assert_eq!(Kind::parse("account"), None);
    }
}
