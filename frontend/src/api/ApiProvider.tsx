/**
 * Hands the API (client + session) to components, and starts the session on load: the
 * access token is not kept anywhere a reload could find it, so each load asks
 * /api/auth/refresh (with the HttpOnly cookie) whether the person is still signed in.
 */
import { useEffect, type ReactNode } from 'react';
import type { Api } from './client';
import { ApiContext } from './context';

export function ApiProvider({ api, children }: { api: Api; children: ReactNode }) {
  useEffect(() => {
    if (api.session.getState().status === 'loading') void api.session.refresh();
  }, [api]);
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}
