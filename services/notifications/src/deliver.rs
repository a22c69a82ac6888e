//! The delivery worker and the mail backends.
//!
//! The worker claims due `pending` mail (a lease, so a crash mid-send leaves it to be tried
//! again and two workers never send one mail at once), hands each to the backend, and
//! records the outcome: `sent`; or another attempt after `retry_base · 2^(attempts − 1)`
//! (at most an hour); or, after `max_attempts`, `failed` — a dead letter an admin can see
//! and send again. A mail is handed to the backend at least once: a crash between the relay's
//! acceptance and the row's update sends it again with the same `Message-ID`, which mail
//! clients use to drop the copy.

use std::{sync::Arc, time::Duration};

use docket_platform::db::now_ms;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart,
        header::{Header, HeaderName, HeaderValue},
    },
};

use crate::{
    api::AppState,
    config::EmailBackend,
    repo::outbox::{self, MailRow},
};

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn from_backend(backend: &EmailBackend, timeout: Duration) -> anyhow::Result<Self> {
        Ok(match backend {
            EmailBackend::Log => Mailer::Log,
            EmailBackend::Smtp { url } => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("SMTP_URL is not a valid SMTP URL"))?
                    .timeout(Some(timeout))
                    .build(),
            ),
        })
    }

    async fn send(&self, mail: &MailRow, from: &Mailbox) -> anyhow::Result<()> {
        match self {
            Mailer::Log => {
                tracing::info!(
                    message_id = %mail.message_id,
                    to = %mail.recipient_email,
                    subject = %mail.subject,
                    body = %mail.body_text,
                    "mail (EMAIL_BACKEND=log: not sent)"
                );
                Ok(())
            }
            Mailer::Smtp(transport) => {
                let message = build(mail, from)?;
                transport.send(message).await?;
                Ok(())
            }
        }
    }
}

macro_rules! raw_header {
    ($ty:ident, $name:literal) => {
        #[derive(Debug, Clone)]
        struct $ty(String);
        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_owned()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}
raw_header!(ListUnsubscribe, "List-Unsubscribe");
raw_header!(ListUnsubscribePost, "List-Unsubscribe-Post");
raw_header!(AutoSubmitted, "Auto-Submitted");

/// The MIME message of an outbox row: text and HTML alternatives, threading and
/// unsubscribe headers.
pub fn build(mail: &MailRow, from: &Mailbox) -> anyhow::Result<Message> {
    let header = |name: &str| {
        mail.headers
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let to: Mailbox = mail.recipient_email.parse()?;
    let mut b = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .header(AutoSubmitted("auto-generated".into()));
    let in_reply_to = header("in_reply_to");
    if !in_reply_to.is_empty() {
        b = b.in_reply_to(in_reply_to).references(header("references"));
    }
    let unsubscribe = header("list_unsubscribe");
    if !unsubscribe.is_empty() {
        b = b
            .header(ListUnsubscribe(unsubscribe))
            .header(ListUnsubscribePost("List-Unsubscribe=One-Click".into()));
    }
    Ok(b.multipart(MultiPart::alternative_plain_html(
        mail.body_text.clone(),
        mail.body_html.clone(),
    ))?)
}

/// The wait before attempt `attempts + 1`, after `attempts` failures.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

/// Runs until the process ends.
pub async fn run(state: AppState, mailer: Mailer) {
    let concurrency = state.settings.send_concurrency;
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    // A claimed mail is left alone for twice the longest send; claiming no more than can be
    // sent at once keeps what a crash strands to those few (claiming eight rounds' worth at
    // once did not change the benchmark: docs/perf/notifications.md).
    let lease_ms = i64::try_from(state.settings.send_timeout.as_millis() * 2).unwrap_or(i64::MAX);
    let batch = u32::try_from(concurrency).unwrap_or(u32::MAX);
    loop {
        let claimed = match outbox::claim_due(&state.db, batch, lease_ms).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "claiming due mail failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            // New mail wakes the worker; retries come due on their own, so look at least
            // every second.
            let _ = tokio::time::timeout(Duration::from_secs(1), state.new_mail.notified()).await;
            continue;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for mail in claimed {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let state = state.clone();
            let mailer = mailer.clone();
            tasks.spawn(async move {
                attempt(&state, &mailer, &mail).await;
                drop(permit);
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

async fn attempt(state: &AppState, mailer: &Mailer, mail: &MailRow) {
    let outcome = mailer.send(mail, &state.settings.email_from).await;
    let recorded = match outcome {
        Ok(()) => {
            tracing::info!(notification_id = %mail.id, message_id = %mail.message_id, "mail sent");
            outbox::mark_sent(&state.db, &mail.id).await
        }
        Err(e) => {
            let attempts = u32::try_from(mail.attempts)
                .unwrap_or(u32::MAX)
                .saturating_add(1);
            let dead = attempts >= state.settings.max_attempts;
            let wait = backoff(state.settings.retry_base, attempts);
            let error = format!("{e:#}");
            if dead {
                tracing::error!(notification_id = %mail.id, attempts, error = %error, "mail dead-lettered");
            } else {
                tracing::warn!(notification_id = %mail.id, attempts, error = %error, "mail failed; will retry");
            }
            let retry_at = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            outbox::mark_failed(&state.db, &mail.id, &error, retry_at, dead).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the mail is tried again.
        tracing::warn!(notification_id = %mail.id, error = %e, "recording a delivery failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 4), Duration::from_secs(240));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }
}
