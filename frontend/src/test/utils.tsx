/**
 * Test helpers: a scripted fetch standing in for the gateway, and a render that wires the
 * app's providers around a component the way main.tsx does.
 */
import type { ReactNode } from 'react';
import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createApi, type Api } from '../api/client';
import { ApiProvider } from '../api/ApiProvider';
import type { AuthResponse, UploadPolicy, User } from '../api/schema';

export const BASE = 'http://docket.test';

export type Handler = (request: Request) => Response | Promise<Response>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const type = status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': type, ...headers },
  });
}

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}) {
  return { type: 'about:blank', title: 'Error', status, detail, request_id: 'req-123', ...extra };
}

export function user(overrides: Partial<User> = {}): User {
  return {
    id: 'u-1',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    role: 'requester',
    active: true,
    created_at: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

export function auth(token: string, u: User = user()): AuthResponse {
  return { user: u, access_token: token, token_type: 'Bearer', expires_in: 900, refresh_token: `r-${token}` };
}

/** An upload policy as GET /api/attachments/policy answers it (the service's defaults). */
export function uploadPolicy(overrides: Partial<UploadPolicy> = {}): UploadPolicy {
  const type = (name: string, media_type: string, ...extensions: string[]) => ({ name, media_type, extensions });
  return {
    max_file_bytes: 10 * 1024 * 1024,
    max_files: 5,
    types: [
      type('JPEG', 'image/jpeg', 'jpg', 'jpeg', 'jpe'),
      type('PNG', 'image/png', 'png'),
      type('GIF', 'image/gif', 'gif'),
      type('PDF', 'application/pdf', 'pdf'),
      type('DOC', 'application/msword', 'doc'),
      type('DOCX', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'),
      type('XLS', 'application/vnd.ms-excel', 'xls'),
      type('XLSX', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'),
    ],
    ...overrides,
  };
}

/**
 * A fetch that records every request and answers from `routes`, keyed by
 * "METHOD /path" (query ignored); a function value is called for each request.
 */
export function fakeFetch(routes: Record<string, Handler | Response[]>) {
  const calls: Request[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    calls.push(request.clone());
    const url = new URL(request.url);
    const key = `${request.method} ${url.pathname}`;
    const route = routes[key];
    if (!route) return json(404, problem(404, `no fake route for ${key}`));
    if (Array.isArray(route)) {
      const next = route.shift();
      if (!next) throw new Error(`fake route ${key} ran out of answers`);
      return next;
    }
    return route(request);
  };
  const callsTo = (key: string) =>
    calls.filter((r) => `${r.method} ${new URL(r.url).pathname}` === key);
  return { fetch, calls, callsTo };
}

export function LocationProbe() {
  const location = useLocation();
  return <output data-testid="location">{`${location.pathname}${location.search}`}</output>;
}

export function renderWithApp(
  ui: ReactNode,
  { api, route = '/', path = '*' }: { api: Api; route?: string; path?: string },
) {
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false, staleTime: Infinity }, mutations: { retry: false } },
  });
  return render(
    <ApiProvider api={api}>
      <QueryClientProvider client={queryClient}>
        <MemoryRouter initialEntries={[route]}>
          <Routes>
            <Route path={path} element={ui} />
            <Route path="*" element={<p>elsewhere</p>} />
          </Routes>
          <LocationProbe />
        </MemoryRouter>
      </QueryClientProvider>
    </ApiProvider>,
  );
}

/** An API whose session is already signed in as `u` with token `token`. */
export function signedInApi(fetch: (r: Request) => Promise<Response>, u: User = user(), token = 'tok-1'): Api {
  const api = createApi(BASE, fetch);
  api.session.signedIn(auth(token, u));
  return api;
}
