/**
 * One ticket: its description, the conversation, its attachments and history, and for
 * agents and admins the controls that move it along. Each part is a component of its own in
 * `./ticket/`; this page loads the ticket and lays them out.
 */
import { Link, useLocation, useParams } from 'react-router';
import { useCurrentUser } from '../api/context';
import { ApiError } from '../api/problem';
import { useTicket, useUserDirectory } from '../api/queries';
import type { Ticket } from '../api/schema';
import { PriorityBadge, StatusBadge } from '../components/Badges';
import { ErrorMessage, Loading } from '../components/Feedback';
import { useTitle } from '../lib/useTitle';
import { formatDate } from '../lib/format';
import { Attachments } from './ticket/Attachments';
import { TicketControls } from './ticket/Controls';
import { Conversation } from './ticket/Conversation';
import { Description } from './ticket/Description';
import { History } from './ticket/History';
import { Notifications } from './ticket/Notifications';

export function TicketDetailPage() {
  const { id = '' } = useParams();
  const me = useCurrentUser();
  const ticketQuery = useTicket(id);
  const location = useLocation();
  const justCreated = (location.state as { created?: boolean } | null)?.created;
  const ticket = ticketQuery.data;
  useTitle(ticket ? ticket.subject : 'Ticket');

  if (ticketQuery.isPending) return <Loading label="Loading ticket…" />;
  if (ticketQuery.error || !ticket) {
    const notFound = ticketQuery.error instanceof ApiError && ticketQuery.error.status === 404;
    return (
      <section className="page" aria-labelledby="ticket-missing">
        <h1 id="ticket-missing" tabIndex={-1}>
          {notFound ? 'Ticket not found' : 'Could not load this ticket'}
        </h1>
        {notFound ? <p>It may have been deleted, or you may not have access to it.</p> : <ErrorMessage error={ticketQuery.error} />}
        <Link to="/tickets">Back to all tickets</Link>
      </section>
    );
  }

  return (
    <section className="page" aria-labelledby="ticket-title">
      <Link to="/tickets" className="back-link">
        ← All tickets
      </Link>
      {justCreated ? (
        <p className="notice notice-success" role="status">
          Ticket created. We will reply here.
        </p>
      ) : null}
      <TicketHeader ticket={ticket} />
      <div className="detail-grid">
        <div className="detail-main">
          <Description ticket={ticket} me={me} />
          <Conversation ticket={ticket} me={me} />
        </div>
        <aside className="detail-side" aria-label="Ticket details">
          <TicketControls ticket={ticket} me={me} />
          <Attachments ticket={ticket} me={me} />
          <History ticket={ticket} />
          <Notifications ticket={ticket} me={me} />
        </aside>
      </div>
    </section>
  );
}

function TicketHeader({ ticket }: { ticket: Ticket }) {
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
  return (
    <header className="ticket-header">
      <h1 id="ticket-title" tabIndex={-1}>
        {ticket.subject}
      </h1>
      <div className="ticket-meta">
        <StatusBadge status={ticket.status} />
        <PriorityBadge priority={ticket.priority} />
        <span className="muted">
          Opened by {nameOf(ticket.requester_id)} · <time dateTime={ticket.created_at}>{formatDate(ticket.created_at)}</time>
        </span>
      </div>
    </header>
  );
}
