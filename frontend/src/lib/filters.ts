/**
 * The ticket list's filters and the URL's query string, both ways. The URL is the source of
 * truth: it can be bookmarked, shared and reloaded, and the back button undoes a filter.
 */
import type { Priority, TicketQuery, TicketStatus } from '../api/schema';
import { PRIORITIES, STATUSES } from './format';

export interface TicketFilters {
  status?: TicketStatus;
  priority?: Priority;
  /** 'me', 'none' is not offered by the API; otherwise a user id. */
  assignee?: string;
  q?: string;
  cursor?: string;
}

export const PAGE_SIZE = 20;
const ORDER: (keyof TicketFilters)[] = ['q', 'status', 'priority', 'assignee', 'cursor'];

function clean(value: string | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Reads filters from a query string, dropping values the API would reject. */
export function filtersFromParams(params: URLSearchParams): TicketFilters {
  const filters: TicketFilters = {};
  const status = clean(params.get('status'));
  if (status && (STATUSES as readonly string[]).includes(status)) filters.status = status as TicketStatus;
  const priority = clean(params.get('priority'));
  if (priority && (PRIORITIES as readonly string[]).includes(priority)) filters.priority = priority as Priority;
  const assignee = clean(params.get('assignee'));
  if (assignee) filters.assignee = assignee;
  const q = clean(params.get('q'));
  if (q) filters.q = q;
  const cursor = clean(params.get('cursor'));
  if (cursor) filters.cursor = cursor;
  return filters;
}

/** Writes filters as a query string in a stable order, leaving out empty ones. */
export function paramsFromFilters(filters: TicketFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ORDER) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  return params;
}

/**
 * A new filter set after changing one filter: any change other than the page itself sends
 * the person back to the first page, since the old cursor belongs to the old results.
 */
export function withFilter(filters: TicketFilters, change: Partial<TicketFilters>): TicketFilters {
  const next: TicketFilters = { ...filters, ...change };
  if (!('cursor' in change)) delete next.cursor;
  for (const key of ORDER) if (!next[key]) delete next[key];
  return next;
}

/** The GET /api/tickets query for these filters; 'me' becomes the signed-in user's id. */
export function ticketQuery(filters: TicketFilters, meId: string, limit = PAGE_SIZE): TicketQuery {
  const query: TicketQuery = { limit };
  if (filters.status) query.status = filters.status;
  if (filters.priority) query.priority = filters.priority;
  if (filters.assignee) query.assignee_id = filters.assignee === 'me' ? meId : filters.assignee;
  if (filters.q) query.q = filters.q;
  if (filters.cursor) query.cursor = filters.cursor;
  return query;
}

export function hasFilters(filters: TicketFilters): boolean {
  return Boolean(filters.status || filters.priority || filters.assignee || filters.q);
}
