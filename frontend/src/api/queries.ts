/**
 * TanStack Query hooks over the typed client: one place for query keys and fetching.
 */
import { useInfiniteQuery, useQuery, keepPreviousData } from '@tanstack/react-query';
import { useApi, useSession } from './context';
import { unwrap } from './client';
import type { paths, TicketQuery } from './schema';

export const keys = {
  tickets: (query: TicketQuery) => ['tickets', query] as const,
  allTickets: ['tickets'] as const,
  ticket: (id: string) => ['ticket', id] as const,
  comments: (id: string) => ['ticket', id, 'comments'] as const,
  events: (id: string) => ['ticket', id, 'events'] as const,
  attachments: (id: string) => ['ticket', id, 'attachments'] as const,
  users: ['users'] as const,
  agents: ['agents'] as const,
  uploadPolicy: ['attachments', 'policy'] as const,
};

const THREAD_PAGE = 50;

export function useTicketList(query: TicketQuery) {
  const { client } = useApi();
  return useQuery({
    queryKey: keys.tickets(query),
    queryFn: async ({ signal }) => unwrap(await client.GET('/api/tickets', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
}

export function useTicket(id: string) {
  const { client } = useApi();
  return useQuery({
    queryKey: keys.ticket(id),
    queryFn: async ({ signal }) =>
      unwrap(await client.GET('/api/tickets/{id}', { params: { path: { id } }, signal })),
  });
}

export function useComments(id: string, enabled = true) {
  const { client } = useApi();
  return useInfiniteQuery({
    queryKey: keys.comments(id),
    enabled,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }) =>
      unwrap(
        await client.GET('/api/tickets/{id}/comments', {
          params: { path: { id }, query: { limit: THREAD_PAGE, cursor: pageParam } },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useEvents(id: string, enabled = true) {
  const { client } = useApi();
  return useInfiniteQuery({
    queryKey: keys.events(id),
    enabled,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam, signal }) =>
      unwrap(
        await client.GET('/api/tickets/{id}/events', {
          params: { path: { id }, query: { limit: THREAD_PAGE, cursor: pageParam } },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useAttachments(id: string, enabled = true) {
  const { client } = useApi();
  return useQuery({
    queryKey: keys.attachments(id),
    enabled,
    queryFn: async ({ signal }) =>
      unwrap(
        await client.GET('/api/tickets/{id}/attachments', {
          params: { path: { id }, query: { limit: 100 } },
          signal,
        }),
      ),
  });
}

/**
 * What uploads accept (GET /api/attachments/policy), fetched once the upload UI is shown and
 * kept for a while: it changes only when the service is reconfigured.
 */
export function useUploadPolicy() {
  const { client } = useApi();
  return useQuery({
    queryKey: keys.uploadPolicy,
    staleTime: 10 * 60_000,
    queryFn: async ({ signal }) => unwrap(await client.GET('/api/attachments/policy', { signal })),
  });
}

export type UserQuery = NonNullable<paths['/api/users']['get']['parameters']['query']>;

export function useUsers(filter: Pick<UserQuery, 'q' | 'role'> = {}) {
  const { client } = useApi();
  return useInfiniteQuery({
    queryKey: [...keys.users, 'list', filter],
    initialPageParam: undefined as string | undefined,
    placeholderData: keepPreviousData,
    queryFn: async ({ pageParam, signal }) =>
      unwrap(
        await client.GET('/api/users', {
          params: { query: { ...filter, limit: 50, cursor: pageParam } },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** Active agents and admins (GET /api/agents, staff only): the people a ticket can go to. */
export function useAgents() {
  const { user } = useSession();
  const { client } = useApi();
  return useQuery({
    queryKey: keys.agents,
    enabled: user?.role === 'agent' || user?.role === 'admin',
    staleTime: 5 * 60_000,
    queryFn: async ({ signal }) => unwrap(await client.GET('/api/agents', { signal })).items,
  });
}

/**
 * Names for user ids. Staff get the names of agents and admins from /api/agents; nobody but
 * an admin may list requesters, so other ids fall back to what the page knows: a ticket's
 * requester is "Requester"; for a requester, anyone else on their ticket is support staff;
 * failing that, a short id.
 */
export function useUserDirectory(context: { requesterId?: string } = {}): (id: string | null | undefined) => string {
  const { user } = useSession();
  const { client } = useApi();
  const agents = useAgents();
  const { data: everyone } = useQuery({
    queryKey: [...keys.users, 'directory'],
    enabled: user?.role === 'admin',
    staleTime: 5 * 60_000,
    queryFn: async ({ signal }) =>
      unwrap(await client.GET('/api/users', { params: { query: { limit: 100 } }, signal })).items,
  });
  const names = new Map<string, string>();
  for (const u of everyone ?? []) names.set(u.id, u.name);
  for (const a of agents.data ?? []) names.set(a.id, a.name);
  return (id) => {
    if (!id) return 'Unassigned';
    if (user && id === user.id) return `${user.name} (you)`;
    const known = names.get(id);
    if (known) return known;
    if (id === context.requesterId) return 'Requester';
    if (user?.role === 'requester') return 'Support team';
    return `User ${id.length > 10 ? `${id.slice(0, 8)}…` : id}`;
  };
}
