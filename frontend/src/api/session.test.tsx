import { StrictMode } from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import { createApi, unwrap } from './client';
import { ApiProvider } from './ApiProvider';
import { useSession } from './context';
import { auth, BASE, fakeFetch, json, problem, user } from '../test/utils';

function Who() {
  const { status, user: u } = useSession();
  return <p>{status === 'signed-in' ? `Hello ${u?.name}` : status}</p>;
}

const page = { items: [], next_cursor: null };

describe('session on load', () => {
  it('refreshes through the cookie once, even under StrictMode, and signs in', async () => {
    const server = fakeFetch({ 'POST /api/auth/refresh': () => json(200, auth('tok-new')) });
    const api = createApi(BASE, server.fetch);
    render(
      <StrictMode>
        <ApiProvider api={api}>
          <Who />
        </ApiProvider>
      </StrictMode>,
    );
    expect(screen.getByText('loading')).toBeInTheDocument();
    expect(await screen.findByText('Hello Ada Lovelace')).toBeInTheDocument();
    const refreshes = server.callsTo('POST /api/auth/refresh');
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]!.credentials).toBe('include');
    expect(api.session.accessToken()).toBe('tok-new');
  });

  it('is signed out when the refresh cookie is rejected', async () => {
    const server = fakeFetch({ 'POST /api/auth/refresh': () => json(401, problem(401, 'no session')) });
    render(
      <ApiProvider api={createApi(BASE, server.fetch)}>
        <Who />
      </ApiProvider>,
    );
    expect(await screen.findByText('signed-out')).toBeInTheDocument();
  });
});

describe('a 401 on an API call', () => {
  it('refreshes, then retries once with the new token', async () => {
    const server = fakeFetch({
      'GET /api/tickets': [json(401, problem(401, 'expired')), json(200, page)],
      'POST /api/auth/refresh': [json(200, auth('tok-2'))],
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedIn(auth('tok-1'));

    const data = unwrap(await api.client.GET('/api/tickets', { params: { query: { limit: 20 } } }));

    expect(data).toEqual(page);
    const tickets = server.callsTo('GET /api/tickets');
    expect(tickets.map((r) => r.headers.get('Authorization'))).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(new URL(tickets[1]!.url).searchParams.get('limit')).toBe('20');
    expect(server.callsTo('POST /api/auth/refresh')).toHaveLength(1);
  });

  it('retries only once: a second 401 is returned, not looped on', async () => {
    const server = fakeFetch({
      'GET /api/auth/me': () => json(401, problem(401, 'still no')),
      'POST /api/auth/refresh': [json(200, auth('tok-2'))],
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedIn(auth('tok-1'));

    const result = await api.client.GET('/api/auth/me');

    expect(result.response.status).toBe(401);
    expect(server.callsTo('GET /api/auth/me')).toHaveLength(2);
    expect(server.callsTo('POST /api/auth/refresh')).toHaveLength(1);
  });

  it('sends the same body again on the retry', async () => {
    const server = fakeFetch({
      'POST /api/tickets': [
        json(401, problem(401, 'expired')),
        json(201, { id: 't-1' }),
      ],
      'POST /api/auth/refresh': [json(200, auth('tok-2'))],
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedIn(auth('tok-1'));

    await api.client.POST('/api/tickets', { body: { subject: 'Printer', description: 'on fire' } });

    const posts = server.callsTo('POST /api/tickets');
    expect(posts).toHaveLength(2);
    expect(await posts[1]!.json()).toEqual({ subject: 'Printer', description: 'on fire' });
  });

  it('shares one refresh between concurrent calls (the refresh token rotates)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = fakeFetch({
      'GET /api/tickets': (r) => json(r.headers.get('Authorization') === 'Bearer tok-2' ? 200 : 401, r.headers.get('Authorization') === 'Bearer tok-2' ? page : problem(401, 'expired')),
      'POST /api/auth/refresh': async () => {
        await gate;
        return json(200, auth('tok-2'));
      },
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedIn(auth('tok-1'));

    const all = Promise.all([1, 2, 3].map(() => api.client.GET('/api/tickets')));
    await waitFor(() => expect(server.callsTo('POST /api/auth/refresh')).toHaveLength(1));
    release();
    const results = await all;

    expect(results.map((r) => r.response.status)).toEqual([200, 200, 200]);
    expect(server.callsTo('POST /api/auth/refresh')).toHaveLength(1);
  });

  it('signs out and returns the 401 when the refresh fails', async () => {
    const server = fakeFetch({
      'GET /api/tickets': () => json(401, problem(401, 'expired')),
      'POST /api/auth/refresh': () => json(401, problem(401, 'revoked')),
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedIn(auth('tok-1'));

    const result = await api.client.GET('/api/tickets');

    expect(result.response.status).toBe(401);
    expect(api.session.getState()).toEqual({ status: 'signed-out', user: null, reason: 'expired' });
    expect(api.session.accessToken()).toBeNull();
  });

  it('does not refresh when a sign-in is refused (wrong password is not an expired token)', async () => {
    const server = fakeFetch({
      'POST /api/auth/login': () => json(401, problem(401, 'Invalid email or password.')),
      'POST /api/auth/refresh': () => json(200, auth('nope')),
    });
    const api = createApi(BASE, server.fetch);

    const result = await api.client.POST('/api/auth/login', { body: { email: 'a@b.c', password: 'wrongpass' } });

    expect(result.response.status).toBe(401);
    expect(server.callsTo('POST /api/auth/refresh')).toHaveLength(0);
  });

  it('adds no Authorization header before anyone signs in', async () => {
    const server = fakeFetch({ 'POST /api/auth/register': () => json(201, auth('t', user())) });
    const api = createApi(BASE, server.fetch);
    await api.client.POST('/api/auth/register', { body: { email: 'a@b.c', password: 'longenough', name: 'A' } });
    expect(server.calls[0]!.headers.get('Authorization')).toBeNull();
  });
});
