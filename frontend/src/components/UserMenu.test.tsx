import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { UserMenu } from './UserMenu';
import { fakeFetch, renderWithApp, signedInApi } from '../test/utils';

describe('<UserMenu>', () => {
  it('opens from the keyboard, closes on Escape and returns focus', async () => {
    const api = signedInApi(fakeFetch({}).fetch);
    const person = userEvent.setup();
    renderWithApp(<UserMenu />, { api, route: '/tickets' });

    const button = screen.getByRole('button', { name: /account menu/ });
    button.focus();
    await person.keyboard('{ArrowDown}');
    expect(screen.getByRole('menu')).toBeInTheDocument();
    expect(screen.getByRole('menuitem', { name: 'Profile' })).toHaveFocus();
    await person.keyboard('{ArrowDown}');
    expect(screen.getByRole('menuitem', { name: 'Sign out' })).toHaveFocus();
    await person.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).not.toBeInTheDocument();
    expect(button).toHaveFocus();
  });

  it('signs out: revokes on the server, forgets the token, goes to sign-in', async () => {
    const server = fakeFetch({ 'POST /api/auth/logout': () => new Response(null, { status: 204 }) });
    const api = signedInApi(server.fetch);
    const person = userEvent.setup();
    renderWithApp(<UserMenu />, { api, route: '/tickets' });

    await person.click(screen.getByRole('button', { name: /account menu/ }));
    await person.click(screen.getByRole('menuitem', { name: 'Sign out' }));

    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/signin'));
    const logout = server.callsTo('POST /api/auth/logout')[0]!;
    expect(logout.headers.get('Authorization')).toBe('Bearer tok-1');
    expect(logout.credentials).toBe('include');
    expect(api.session.accessToken()).toBeNull();
    expect(api.session.getState().reason).toBe('signed-out');
  });

  it('still signs out locally when the server cannot be reached', async () => {
    const api = signedInApi(async () => {
      throw new TypeError('Failed to fetch');
    });
    const person = userEvent.setup();
    renderWithApp(<UserMenu />, { api, route: '/tickets' });
    await person.click(screen.getByRole('button', { name: /account menu/ }));
    await person.click(screen.getByRole('menuitem', { name: 'Sign out' }));
    await waitFor(() => expect(api.session.getState().status).toBe('signed-out'));
  });
});
