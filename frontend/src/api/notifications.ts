/**
 * The notifications service's hooks: the signed-in user's mail preferences (Profile) and the
 * mail sent about a ticket (staff, on the ticket page).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useApi } from './context';
import { unwrap } from './client';

export const notificationKeys = {
  preferences: ['notifications', 'preferences'] as const,
  ticket: (id: string) => ['notifications', 'ticket', id] as const,
};

export function usePreferences() {
  const { client } = useApi();
  return useQuery({
    queryKey: notificationKeys.preferences,
    queryFn: async ({ signal }) => unwrap(await client.GET('/api/notifications/preferences', { signal })),
  });
}

export function useSetPreference() {
  const { client } = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ kind, enabled }: { kind: string; enabled: boolean }) =>
      unwrap(
        await client.PUT('/api/notifications/preferences/{kind}', {
          params: { path: { kind } },
          body: { enabled },
        }),
      ),
    onSuccess: (prefs) => queryClient.setQueryData(notificationKeys.preferences, prefs),
  });
}

export function useTicketNotifications(id: string, enabled: boolean) {
  const { client } = useApi();
  return useQuery({
    queryKey: notificationKeys.ticket(id),
    enabled,
    queryFn: async ({ signal }) =>
      unwrap(
        await client.GET('/api/notifications/tickets/{id}', {
          params: { path: { id }, query: { limit: 100 } },
          signal,
        }),
      ),
  });
}
