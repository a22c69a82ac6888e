import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TicketDetailPage } from './TicketDetail';
import { fakeFetch, json, problem, renderWithApp, signedInApi, user } from '../test/utils';

const ticket = {
  id: 't-1',
  subject: 'VPN drops every hour',
  description: 'Since Monday.',
  status: 'open',
  priority: 'normal',
  requester_id: 'req-1',
  assignee_id: null,
  version: 3,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
};
const reply = { id: 'c-1', ticket_id: 't-1', author_id: 'req-1', body: 'Still happening', internal: false, created_at: '2025-01-01T00:00:00Z' };
const note = { id: 'c-2', ticket_id: 't-1', author_id: 'ag-1', body: 'Looks like the concentrator', internal: true, created_at: '2025-01-01T00:00:00Z' };
const empty = { items: [], next_cursor: null };

function routes(comments: unknown[]) {
  return {
    'GET /api/tickets/t-1': () => json(200, ticket),
    'GET /api/tickets/t-1/comments': () => json(200, { items: comments, next_cursor: null }),
    'GET /api/tickets/t-1/events': () => json(200, empty),
    'GET /api/tickets/t-1/attachments': () => json(200, empty),
  };
}

describe('<TicketDetailPage>', () => {
  it('never shows or offers internal notes to a requester', async () => {
    // Even if a note slipped through, the requester's page would not render it.
    const server = fakeFetch(routes([reply, note]));
    const api = signedInApi(server.fetch, user({ id: 'req-1', role: 'requester' }));
    renderWithApp(<TicketDetailPage />, { api, route: '/tickets/t-1', path: '/tickets/:id' });

    expect(await screen.findByText('Still happening')).toBeInTheDocument();
    expect(screen.queryByText('Looks like the concentrator')).not.toBeInTheDocument();
    expect(screen.queryByText('Internal note')).not.toBeInTheDocument();
    expect(screen.queryByRole('checkbox')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Status')).not.toBeInTheDocument();
    const asked = server.callsTo('GET /api/tickets/t-1/comments').map((r) => new URL(r.url).search);
    expect(asked.join('')).not.toMatch(/internal/);
  });

  it('marks internal notes for agents and lets them post one', async () => {
    const server = fakeFetch({
      ...routes([reply, note]),
      'POST /api/tickets/t-1/comments': () => json(201, { ...note, id: 'c-3', body: 'Escalating' }),
    });
    const api = signedInApi(server.fetch, user({ id: 'ag-1', role: 'agent', name: 'Grace' }));
    const person = userEvent.setup();
    renderWithApp(<TicketDetailPage />, { api, route: '/tickets/t-1', path: '/tickets/:id' });

    const noteItem = (await screen.findByText('Looks like the concentrator')).closest('li')!;
    expect(noteItem).toHaveClass('comment-internal');
    expect(noteItem).toHaveTextContent('Internal note');

    await person.click(screen.getByRole('checkbox', { name: /internal note/i }));
    await person.type(screen.getByLabelText('Internal note'), 'Escalating');
    await person.click(screen.getByRole('button', { name: 'Add internal note' }));
    await waitFor(() => expect(server.callsTo('POST /api/tickets/t-1/comments')).toHaveLength(1));
    expect(await server.callsTo('POST /api/tickets/t-1/comments')[0]!.json()).toEqual({ body: 'Escalating', internal: true });
  });

  it('sends the version it saw with If-Match and explains a conflict', async () => {
    const server = fakeFetch({
      ...routes([]),
      'PATCH /api/tickets/t-1': () => json(412, problem(412, 'version mismatch')),
    });
    const api = signedInApi(server.fetch, user({ id: 'ag-1', role: 'agent' }));
    const person = userEvent.setup();
    renderWithApp(<TicketDetailPage />, { api, route: '/tickets/t-1', path: '/tickets/:id' });

    await person.selectOptions(await screen.findByLabelText('Status'), 'resolved');
    expect(await screen.findByRole('alert')).toHaveTextContent(/Someone else changed this ticket/);
    const patch = server.callsTo('PATCH /api/tickets/t-1')[0]!;
    expect(patch.headers.get('If-Match')).toBe('3');
    expect(await patch.json()).toEqual({ status: 'resolved' });
  });

  it('offers the agents from /api/agents as assignees and saves the choice', async () => {
    const server = fakeFetch({
      ...routes([]),
      'GET /api/agents': () =>
        json(200, { items: [
          { id: 'ag-1', name: 'Grace', email: 'g@example.com', role: 'agent' },
          { id: 'ag-2', name: 'Linus', email: 'l@example.com', role: 'admin' },
        ] }),
      'PATCH /api/tickets/t-1': () => json(200, { ...ticket, assignee_id: 'ag-2', version: 4 }),
    });
    const api = signedInApi(server.fetch, user({ id: 'ag-1', role: 'agent', name: 'Grace' }));
    const person = userEvent.setup();
    renderWithApp(<TicketDetailPage />, { api, route: '/tickets/t-1', path: '/tickets/:id' });

    const select = await screen.findByLabelText('Assignee');
    expect(screen.getByRole('option', { name: 'Grace (you)' })).toBeInTheDocument();
    await person.selectOptions(select, 'ag-2');
    await waitFor(() => expect(screen.getByTestId('assignee')).toHaveTextContent('Linus'));
    expect(await server.callsTo('PATCH /api/tickets/t-1')[0]!.json()).toEqual({ assignee_id: 'ag-2' });
  });

  it('says "not found" for a ticket the person may not see', async () => {
    const server = fakeFetch({ 'GET /api/tickets/t-9': () => json(404, problem(404, 'Ticket not found.')) });
    renderWithApp(<TicketDetailPage />, { api: signedInApi(server.fetch), route: '/tickets/t-9', path: '/tickets/:id' });
    expect(await screen.findByRole('heading', { name: 'Ticket not found' })).toBeInTheDocument();
  });
});
