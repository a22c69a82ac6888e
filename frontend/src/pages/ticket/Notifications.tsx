/** For agents and admins: the mail sent (or waiting, or dead-lettered) about this ticket. */
import { useTicketNotifications } from '../../api/notifications';
import type { Ticket, User } from '../../api/schema';
import { Loading } from '../../components/Feedback';
import { formatDate } from '../../lib/format';

const STATE_TEXT: Record<string, string> = {
  pending: 'waiting',
  sent: 'sent',
  failed: 'failed',
};

export function Notifications({ ticket, me }: { ticket: Ticket; me: User }) {
  const staff = me.role === 'agent' || me.role === 'admin';
  const mail = useTicketNotifications(ticket.id, staff);
  if (!staff) return null;
  const items = mail.data?.items ?? [];
  return (
    <section className="card side-card" aria-labelledby="notifications-title">
      <h2 id="notifications-title">Email sent</h2>
      {mail.isPending ? (
        <Loading label="Loading email…" />
      ) : mail.error ? (
        // Not an alert: the ticket works without the notifications service.
        <p className="muted">Could not load the email sent about this ticket.</p>
      ) : items.length === 0 ? (
        <p className="muted">No email about this ticket yet.</p>
      ) : (
        <ul className="plain-list" data-testid="notifications">
          {items.map((n) => (
            <li key={n.id}>
              <strong>{n.recipient_email}</strong> — {n.kind.replace(/_/g, ' ')}:{' '}
              <span className={n.state === 'failed' ? 'text-danger' : undefined}>{STATE_TEXT[n.state] ?? n.state}</span>
              <div className="muted small">
                {n.sent_at ? formatDate(n.sent_at) : formatDate(n.created_at)}
                {n.state !== 'sent' && n.attempts > 0 ? ` · ${n.attempts} attempts` : ''}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
