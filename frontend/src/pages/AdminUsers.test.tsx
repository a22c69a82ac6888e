import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AdminUsersPage } from './AdminUsers';
import { fakeFetch, json, problem, renderWithApp, signedInApi, user } from '../test/utils';

const admin = user({ id: 'ad-1', role: 'admin', name: 'Ada Admin' });
const bob = user({ id: 'u-2', name: 'Bob Requester', email: 'bob@example.com' });

describe('<AdminUsersPage>', () => {
  it('changes a role and deactivates, and shows a refusal next to the row', async () => {
    const patches: unknown[] = [];
    const server = fakeFetch({
      'GET /api/users': () => json(200, { items: [admin, bob], next_cursor: null }),
      'PATCH /api/users/u-2': async (r) => {
        const body = await r.json();
        patches.push(body);
        return 'active' in body ? json(403, problem(403, 'Not today.')) : json(200, { ...bob, ...body });
      },
    });
    const person = userEvent.setup();
    renderWithApp(<AdminUsersPage />, { api: signedInApi(server.fetch, admin), route: '/admin/users' });

    const row = (await screen.findByText('Bob Requester')).closest('tr')!;
    await person.selectOptions(within(row).getByLabelText('Role for Bob Requester'), 'agent');
    await waitFor(() => expect(patches).toEqual([{ role: 'agent' }]));

    await person.click(within(row).getByRole('button', { name: 'Deactivate Bob Requester' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Not today.');
    expect(patches[1]).toEqual({ active: false });
    // Admins cannot lock themselves out from here.
    const me = screen.getByText('Ada Admin').closest('tr')!;
    expect(within(me).getByRole('button', { name: /Deactivate/ })).toBeDisabled();
  });

  it('searches by name or email through the API', async () => {
    const server = fakeFetch({ 'GET /api/users': () => json(200, { items: [bob], next_cursor: null }) });
    const person = userEvent.setup();
    renderWithApp(<AdminUsersPage />, { api: signedInApi(server.fetch, admin), route: '/admin/users' });
    await screen.findByText('Bob Requester');
    await person.type(screen.getByLabelText('Search users'), 'bob{Enter}');
    await waitFor(() => {
      const calls = server.callsTo('GET /api/users');
      expect(new URL(calls[calls.length - 1]!.url).searchParams.get('q')).toBe('bob');
    });
  });
});
