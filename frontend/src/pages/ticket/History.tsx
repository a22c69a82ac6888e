/** A ticket's history: each event as a sentence, newest first. */
import { useEvents, useUserDirectory } from '../../api/queries';
import type { Ticket, TicketEvent } from '../../api/schema';
import { ErrorMessage, Loading } from '../../components/Feedback';
import { formatDate, formatRelative, priorityLabel, statusLabel } from '../../lib/format';

type NameOf = (id: string | null | undefined) => string;

function describeEvent(event: TicketEvent, nameOf: NameOf): string {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (v == null ? 'none' : String(v));
  switch (event.kind) {
    case 'created':
      return 'opened the ticket';
    case 'status_changed':
      return `changed status from ${statusLabel(text(data.from))} to ${statusLabel(text(data.to))}`;
    case 'priority_changed':
      return `changed priority from ${priorityLabel(text(data.from))} to ${priorityLabel(text(data.to))}`;
    case 'assignee_changed':
      if (data.to == null) return 'unassigned the ticket';
      return nameOf(data.to as string) === 'Support team'
        ? 'assigned the ticket to a support agent'
        : `assigned the ticket to ${nameOf(data.to as string)}`;
    case 'updated': {
      const fields = Array.isArray(data.fields) ? (data.fields as string[]) : [];
      return fields.length ? `edited the ${fields.join(' and ')}` : 'edited the ticket';
    }
    case 'comment_added':
      return data.internal ? 'added an internal note' : 'replied';
    case 'attachment_added':
      return `attached ${text(data.filename)}`;
    case 'attachment_removed':
      return `removed ${text(data.filename)}`;
    default:
      return String(event.kind).replace(/_/g, ' ');
  }
}

export function History({ ticket }: { ticket: Ticket }) {
  const events = useEvents(ticket.id);
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
  const list = events.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="card side-card" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {events.isPending ? (
        <Loading label="Loading history…" />
      ) : events.error ? (
        <ErrorMessage error={events.error} />
      ) : list.length === 0 ? (
        <p className="muted">Nothing has happened yet.</p>
      ) : (
        <ol className="timeline" data-testid="history">
          {list.map((e) => (
            <li key={e.id}>
              <span className="timeline-dot" aria-hidden="true" />
              <div>
                <strong>{nameOf(e.actor_id)}</strong> {describeEvent(e, nameOf)}
                <div className="muted small">
                  <time dateTime={e.created_at} title={formatDate(e.created_at)}>
                    {formatRelative(e.created_at)}
                  </time>
                </div>
              </div>
            </li>
          ))}
        </ol>
      )}
      {events.hasNextPage ? (
        <button type="button" className="button ghost" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
          Show more
        </button>
      ) : null}
    </section>
  );
}
