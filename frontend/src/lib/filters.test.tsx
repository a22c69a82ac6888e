import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { filtersFromParams, paramsFromFilters, ticketQuery, withFilter } from './filters';
import { TicketListPage } from '../pages/TicketList';
import { fakeFetch, json, renderWithApp, signedInApi, user } from '../test/utils';

describe('filters <-> query string', () => {
  it('reads known values and drops ones the API would reject', () => {
    const params = new URLSearchParams('status=open&priority=bogus&assignee=me&q=%20printer%20&cursor=abc');
    expect(filtersFromParams(params)).toEqual({ status: 'open', assignee: 'me', q: 'printer', cursor: 'abc' });
  });

  it('writes in a stable order and leaves out empty values', () => {
    expect(paramsFromFilters({ cursor: 'c', status: 'waiting', q: 'vpn', priority: undefined }).toString()).toBe(
      'q=vpn&status=waiting&cursor=c',
    );
  });

  it('round-trips', () => {
    const filters = { q: 'disk full', status: 'in_progress', priority: 'urgent', assignee: 'u-9', cursor: 'x' } as const;
    expect(filtersFromParams(paramsFromFilters(filters))).toEqual(filters);
  });

  it('goes back to the first page when a filter changes, not when the page does', () => {
    expect(withFilter({ status: 'open', cursor: 'c2' }, { priority: 'high' })).toEqual({ status: 'open', priority: 'high' });
    expect(withFilter({ status: 'open' }, { cursor: 'c3' })).toEqual({ status: 'open', cursor: 'c3' });
    expect(withFilter({ status: 'open', q: 'x' }, { status: undefined })).toEqual({ q: 'x' });
  });

  it('turns "me" into the signed-in user id for the API', () => {
    expect(ticketQuery({ assignee: 'me', status: 'open' }, 'u-7')).toEqual({ limit: 20, status: 'open', assignee_id: 'u-7' });
  });
});

const ticket = (id: string, subject: string) => ({
  id,
  subject,
  description: '',
  status: 'open',
  priority: 'high',
  requester_id: 'u-2',
  assignee_id: null,
  version: 1,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
});

describe('<TicketListPage> and the URL', () => {
  function setup(route: string, answer = { items: [ticket('t-1', 'Printer on fire')], next_cursor: 'next-1' as string | null }) {
    const server = fakeFetch({ 'GET /api/tickets': () => json(200, answer) });
    const api = signedInApi(server.fetch, user({ id: 'agent-1', role: 'agent', name: 'Grace Hopper' }));
    renderWithApp(<TicketListPage />, { api, route, path: '/tickets' });
    const lastQuery = () => {
      const calls = server.callsTo('GET /api/tickets');
      return new URL(calls[calls.length - 1]!.url).searchParams;
    };
    return { server, lastQuery, person: userEvent.setup() };
  }

  it('fills the controls from the URL and asks the API for the same', async () => {
    const { lastQuery } = setup('/tickets?q=printer&status=waiting&priority=urgent&assignee=me');
    expect(await screen.findByText('Printer on fire')).toBeInTheDocument();
    expect(screen.getByLabelText('Status')).toHaveValue('waiting');
    expect(screen.getByLabelText('Priority')).toHaveValue('urgent');
    expect(screen.getByLabelText('Assignee')).toHaveValue('me');
    expect(screen.getByLabelText('Search tickets')).toHaveValue('printer');
    const q = lastQuery();
    expect(Object.fromEntries(q)).toEqual({ q: 'printer', status: 'waiting', priority: 'urgent', assignee_id: 'agent-1', limit: '20' });
  });

  it('writes a changed filter to the URL, dropping the page cursor', async () => {
    const { person, lastQuery } = setup('/tickets?status=open&cursor=c-5');
    await screen.findByText('Printer on fire');
    await person.selectOptions(screen.getByLabelText('Priority'), 'high');
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/tickets?status=open&priority=high'));
    await waitFor(() => expect(lastQuery().get('priority')).toBe('high'));
    expect(lastQuery().get('cursor')).toBeNull();
  });

  it('searches on submit and clears everything with one button', async () => {
    const { person } = setup('/tickets');
    await screen.findByText('Printer on fire');
    await person.type(screen.getByLabelText('Search tickets'), 'vpn{Enter}');
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/tickets?q=vpn'));
    await person.click(screen.getAllByRole('button', { name: 'Clear filters' })[0]!);
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent(/^\/tickets$/));
  });

  it('pages forward with the cursor and back again', async () => {
    const { person, lastQuery } = setup('/tickets?status=open');
    await screen.findByText('Printer on fire');
    await person.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/tickets?status=open&cursor=next-1'));
    await waitFor(() => expect(lastQuery().get('cursor')).toBe('next-1'));
    await person.click(screen.getByRole('button', { name: 'Previous' }));
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent(/^\/tickets\?status=open$/));
  });

  it('shows an empty state that offers to clear filters', async () => {
    setup('/tickets?status=closed', { items: [], next_cursor: null });
    const empty = await screen.findByText('No tickets match these filters.');
    expect(within(empty.parentElement!).getByRole('button', { name: 'Clear filters' })).toBeInTheDocument();
  });
});
