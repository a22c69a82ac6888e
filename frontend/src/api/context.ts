/**
 * The API (client + session) as seen by components; <ApiProvider> puts it in place.
 */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Api } from './client';
import type { SessionState } from './session';

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside <ApiProvider>');
  return api;
}

export function useSession(): SessionState {
  const { session } = useApi();
  return useSyncExternalStore(session.subscribe, session.getState, session.getState);
}

/** The signed-in user; only for components under <RequireAuth>. */
export function useCurrentUser() {
  const { user } = useSession();
  if (!user) throw new Error('useCurrentUser without a signed-in user');
  return user;
}
