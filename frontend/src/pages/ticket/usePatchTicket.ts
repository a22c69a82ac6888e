/** Changing a ticket: one PATCH mutation per part of the page that changes it. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi } from '../../api/context';
import { unwrap } from '../../api/client';
import { ApiError } from '../../api/problem';
import { keys } from '../../api/queries';
import type { Ticket, TicketPatch } from '../../api/schema';

/**
 * `assignee_id: null` unassigns (ARCHITECTURE.md). The tickets document may describe the
 * field as a plain string (poem-openapi's MaybeUndefined does not mark it nullable), so the
 * generated type cannot always say so; this is the one place that sends the null anyway.
 */
export const UNASSIGN = null as unknown as NonNullable<TicketPatch['assignee_id']>;


/** PATCH with the version the page last saw; a stale one reloads the ticket and says so. */
export function usePatchTicket(ticket: Ticket) {
  const { client } = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (patch: TicketPatch) =>
      unwrap(
        await client.PATCH('/api/tickets/{id}', {
          params: { path: { id: ticket.id }, header: { 'If-Match': String(ticket.version) } },
          body: patch,
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.ticket(ticket.id), updated);
      void queryClient.invalidateQueries({ queryKey: keys.events(ticket.id) });
      void queryClient.invalidateQueries({ queryKey: keys.allTickets });
    },
    onError: (error) => {
      if (error instanceof ApiError && (error.status === 409 || error.status === 412)) {
        void queryClient.invalidateQueries({ queryKey: keys.ticket(ticket.id) });
      }
    },
  });
}

/** A stale version's 409/412 as the sentence the page shows; any other error as it is. */
export function patchErrorText(error: unknown): unknown {
  if (error instanceof ApiError && (error.status === 409 || error.status === 412)) {
    return new Error('Someone else changed this ticket meanwhile. The latest version is loaded now; please try again.');
  }
  return error;
}
