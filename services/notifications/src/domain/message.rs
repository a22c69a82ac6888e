//! What a mail says: subject, plain text and HTML from one template per kind, and the
//! headers that thread a ticket's mails and let a reader unsubscribe in one click.
//!
//! Every piece of user text (subjects, names, comments) goes into the HTML through
//! [`escape`] and nowhere else; links are built from `PUBLIC_URL` and ids only. Threading:
//! every mail about a ticket names the same root (`<ticket-{id}@{domain}>`) in `In-Reply-To`
//! and `References`, so mail clients file them in one conversation.

use uuid::Uuid;

use super::Kind;

/// The text of a rendered mail, stored in the outbox so each attempt sends the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub in_reply_to: String,
    pub references: String,
    /// `<https://…/unsubscribe?token=…>`; answered by a one-click POST (RFC 8058).
    pub list_unsubscribe: String,
}

/// What a template needs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub kind: Kind,
    pub event_id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_subject: &'a str,
    pub recipient_id: Uuid,
    pub recipient_name: &'a str,
    pub actor_name: &'a str,
    /// A comment's text (replies and notes).
    pub comment: Option<&'a str>,
    /// The new status (resolved / closed).
    pub status: Option<&'a str>,
    pub public_url: &'a str,
    pub domain: &'a str,
    pub unsubscribe_token: &'a str,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A subject line is one line: control characters (CR/LF above all) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The short reference shown in subjects: the first 8 hex digits of the ticket id.
pub fn short_ref(ticket: Uuid) -> String {
    ticket.simple().to_string()[..8].to_owned()
}

pub fn thread_root(ticket: Uuid, domain: &str) -> String {
    format!("<ticket-{}@{domain}>", ticket.simple())
}

pub fn render(c: &Context<'_>) -> Rendered {
    let subject_line = one_line(c.ticket_subject);
    let tag = format!("[Docket #{}]", short_ref(c.ticket_id));
    let link = format!("{}/tickets/{}", c.public_url, c.ticket_id);
    let actor = one_line(c.actor_name);
    let (subject, lead) = match c.kind {
        Kind::TicketConfirmation => (
            format!("{tag} {subject_line}"),
            "We received your ticket. We will answer here and by email.".to_owned(),
        ),
        Kind::NewTicket => (
            format!("{tag} New ticket: {subject_line}"),
            format!("{actor} opened a new ticket."),
        ),
        Kind::Reply | Kind::UnassignedReply => (
            format!("Re: {tag} {subject_line}"),
            format!("{actor} replied:"),
        ),
        Kind::Assigned => (
            format!("{tag} Assigned to you: {subject_line}"),
            format!("{actor} assigned this ticket to you."),
        ),
        Kind::Resolved => (
            format!(
                "{tag} {}: {subject_line}",
                if c.status == Some("closed") {
                    "Closed"
                } else {
                    "Resolved"
                }
            ),
            format!(
                "{actor} marked your ticket as {}. Reply to this mail if you still need help.",
                c.status.unwrap_or("resolved")
            ),
        ),
    };
    let unsubscribe = format!(
        "{}/api/notifications/unsubscribe?token={}",
        c.public_url, c.unsubscribe_token
    );
    let greeting = format!("Hello {},", one_line(c.recipient_name));
    let mut text = format!("{greeting}\n\n{lead}\n\n");
    let mut html = format!(
        "<!doctype html><html><body><p>{}</p><p>{}</p>",
        escape(&greeting),
        escape(&lead)
    );
    if let Some(body) = c.comment {
        for line in body.lines() {
            text.push_str("> ");
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
        html.push_str(&format!(
            "<blockquote style=\"white-space: pre-wrap\">{}</blockquote>",
            escape(body)
        ));
    }
    text.push_str(&format!(
        "Ticket: {subject_line}\n{link}\n\n-- \nYou get this mail because of your Docket \
         notification settings. Unsubscribe from this kind of mail: {unsubscribe}\n"
    ));
    html.push_str(&format!(
        "<p>Ticket: <a href=\"{}\">{}</a></p><hr><p style=\"font-size: small\">You get this \
         mail because of your Docket notification settings. <a href=\"{}\">Unsubscribe from \
         this kind of mail</a>.</p></body></html>",
        escape(&link),
        escape(&subject_line),
        escape(&unsubscribe)
    ));
    let root = thread_root(c.ticket_id, c.domain);
    Rendered {
        subject,
        text,
        html,
        message_id: format!(
            "<{}.{}.{}@{}>",
            c.event_id.simple(),
            c.recipient_id.simple(),
            c.kind.as_str(),
            c.domain
        ),
        in_reply_to: root.clone(),
        references: root,
        list_unsubscribe: format!("<{unsubscribe}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(subject: &'a str, comment: Option<&'a str>) -> Context<'a> {
        Context {
            kind: Kind::Reply,
            event_id: Uuid::from_u128(7),
            ticket_id: Uuid::from_u128(9),
            ticket_subject: subject,
            recipient_id: Uuid::from_u128(1),
            recipient_name: "Rita <Requester>",
            actor_name: "Agent \"A\"",
            comment,
            status: None,
            public_url: "https://help.example.com",
            domain: "example.com",
            unsubscribe_token: "tok",
        }
    }

    #[test]
    fn user_text_is_escaped_in_html_and_a_subject_cannot_inject_headers() {
        let r = render(&ctx(
            "Broken\r\nBcc: victim@example.com",
            Some("<script>alert(1)</script> & more"),
        ));
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert!(!r.html.contains("<script>"));
        assert!(
            r.html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more")
        );
        assert!(r.html.contains("Rita &lt;Requester&gt;"));
        assert!(r.text.contains("> <script>alert(1)</script> & more"));
    }

    #[test]
    fn mails_about_one_ticket_share_a_thread_root_and_ids_differ_per_recipient() {
        let a = render(&ctx("Printer", None));
        let mut other = ctx("Printer", None);
        other.recipient_id = Uuid::from_u128(2);
        let b = render(&other);
        assert_eq!(a.references, b.references);
        assert_eq!(
            a.in_reply_to,
            "<ticket-00000000000000000000000000000009@example.com>"
        );
        assert_ne!(a.message_id, b.message_id);
        assert!(a.subject.starts_with("Re: [Docket #00000000] Printer"));
        assert_eq!(
            a.list_unsubscribe,
            "<https://help.example.com/api/notifications/unsubscribe?token=tok>"
        );
    }
}
