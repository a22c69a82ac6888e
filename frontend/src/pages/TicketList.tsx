/**
 * The ticket list. Filters, search and the page cursor live in the URL (see lib/filters),
 * so the back button, reloads and shared links all show the same list.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router';
import { useCurrentUser } from '../api/context';
import { useAgents, useTicketList, useUserDirectory } from '../api/queries';
import { PriorityBadge, StatusBadge } from '../components/Badges';
import { EmptyState, ErrorMessage, Loading } from '../components/Feedback';
import { useTitle } from '../lib/useTitle';
import {
  filtersFromParams,
  hasFilters,
  paramsFromFilters,
  ticketQuery,
  withFilter,
  type TicketFilters,
} from '../lib/filters';
import { PRIORITIES, STATUSES, formatDate, formatRelative, isStaff, priorityLabel, statusLabel } from '../lib/format';

/** Marked once per page load, when the first list (or empty state) is on screen. */
let firstRenderMarked = false;
export const FIRST_RENDER_MARK = 'docket:ticket-list-visible';

interface PagingState {
  /** Cursors of the pages before this one ('' for the first page), newest last. */
  trail?: string[];
}

export function TicketListPage() {
  useTitle('Tickets');
  const me = useCurrentUser();
  const staff = isStaff(me);
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const location = useLocation();
  const filters = filtersFromParams(params);
  const query = ticketQuery(filters, me.id);
  const { data, error, isPending, isFetching, isPlaceholderData, refetch } = useTicketList(query);
  const nameOf = useUserDirectory();
  const trail = (location.state as PagingState | null)?.trail ?? [];

  const go = (next: TicketFilters, state?: PagingState) => {
    const search = paramsFromFilters(next).toString();
    navigate({ pathname: '/tickets', search: search ? `?${search}` : '' }, { state });
  };
  const setFilter = (change: Partial<TicketFilters>) => go(withFilter(filters, change));

  useEffect(() => {
    if (data && !firstRenderMarked) {
      firstRenderMarked = true;
      performance.mark(FIRST_RENDER_MARK);
    }
  }, [data]);

  const items = data?.items ?? [];
  const nextCursor = data?.next_cursor ?? null;

  return (
    <section className="page" aria-labelledby="tickets-title">
      <div className="page-header">
        <h1 id="tickets-title" tabIndex={-1}>
          Tickets
        </h1>
        <Link to="/tickets/new" className="button primary">
          New ticket
        </Link>
      </div>

      <div className="filters" role="search" aria-label="Filter tickets">
        <SearchBox key={filters.q ?? ''} initial={filters.q ?? ''} onSearch={(q) => setFilter({ q })} />
        <FilterSelect
          label="Status"
          value={filters.status ?? ''}
          options={STATUSES.map((s) => [s, statusLabel(s)])}
          anyLabel="Any status"
          onChange={(status) => setFilter({ status: (status || undefined) as TicketFilters['status'] })}
        />
        <FilterSelect
          label="Priority"
          value={filters.priority ?? ''}
          options={PRIORITIES.map((p) => [p, priorityLabel(p)])}
          anyLabel="Any priority"
          onChange={(priority) => setFilter({ priority: (priority || undefined) as TicketFilters['priority'] })}
        />
        {staff ? <AssigneeFilter value={filters.assignee} onChange={(assignee) => setFilter({ assignee })} /> : null}
        {hasFilters(filters) ? (
          <button type="button" className="button ghost" onClick={() => go({})}>
            Clear filters
          </button>
        ) : null}
      </div>

      {error ? (
        <div className="stack">
          <ErrorMessage error={error} />
          <button type="button" className="button" onClick={() => void refetch()}>
            Try again
          </button>
        </div>
      ) : isPending ? (
        <Loading label="Loading tickets…" />
      ) : items.length === 0 ? (
        hasFilters(filters) ? (
          <EmptyState title="No tickets match these filters.">
            <button type="button" className="button" onClick={() => go({})}>
              Clear filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title={staff ? 'No tickets yet.' : 'You have no tickets yet.'}>
            <p>When something needs attention, open a ticket and we will take it from there.</p>
            <Link to="/tickets/new" className="button primary">
              Open a ticket
            </Link>
          </EmptyState>
        )
      ) : (
        <div className={`table-wrap${isFetching && isPlaceholderData ? ' is-stale' : ''}`} aria-busy={isFetching}>
          <table className="tickets" data-testid="ticket-list">
            <caption className="visually-hidden">Tickets{hasFilters(filters) ? ', filtered' : ''}</caption>
            <thead>
              <tr>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
                <th scope="col">Priority</th>
                <th scope="col">Assignee</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr key={t.id}>
                  <td data-label="Subject" className="cell-subject">
                    <Link to={`/tickets/${encodeURIComponent(t.id)}`}>{t.subject}</Link>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={t.status} />
                  </td>
                  <td data-label="Priority">
                    <PriorityBadge priority={t.priority} />
                  </td>
                  <td data-label="Assignee" className={t.assignee_id ? '' : 'muted'}>
                    {nameOf(t.assignee_id)}
                  </td>
                  <td data-label="Updated">
                    <time dateTime={t.updated_at} title={formatDate(t.updated_at)}>
                      {formatRelative(t.updated_at)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {filters.cursor || nextCursor ? (
        <nav className="pager" aria-label="Pages">
          {filters.cursor ? (
            <>
              <button type="button" className="button" onClick={() => go({ ...filters, cursor: undefined })}>
                First page
              </button>
              <button
                type="button"
                className="button"
                disabled={trail.length === 0}
                onClick={() => {
                  const previous = trail[trail.length - 1];
                  go({ ...filters, cursor: previous || undefined }, { trail: trail.slice(0, -1) });
                }}
              >
                Previous
              </button>
            </>
          ) : null}
          <button
            type="button"
            className="button"
            disabled={!nextCursor}
            onClick={() => nextCursor && go({ ...filters, cursor: nextCursor }, { trail: [...trail, filters.cursor ?? ''] })}
          >
            Next
          </button>
        </nav>
      ) : null}
    </section>
  );
}

function SearchBox({ initial, onSearch }: { initial: string; onSearch: (q: string | undefined) => void }) {
  const [value, setValue] = useState(initial);
  const id = useId();
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    onSearch(value.trim() || undefined);
  };
  return (
    <form className="searchbox" onSubmit={onSubmit}>
      <label htmlFor={id} className="visually-hidden">
        Search tickets
      </label>
      <input
        id={id}
        type="search"
        placeholder="Search subject, description, comments"
        value={value}
        onChange={(e) => {
          setValue(e.target.value);
          if (e.target.value === '' && initial !== '') onSearch(undefined);
        }}
      />
      <button type="submit" className="button">
        Search
      </button>
    </form>
  );
}

function FilterSelect({
  label,
  value,
  options,
  anyLabel,
  onChange,
}: {
  label: string;
  value: string;
  options: [string, string][];
  anyLabel: string;
  onChange: (value: string) => void;
}) {
  const id = useId();
  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{anyLabel}</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Anyone / me / one of the agents; a user id typed in when the agent list is unavailable. */
function AssigneeFilter({ value, onChange }: { value?: string; onChange: (value: string | undefined) => void }) {
  const agents = useAgents();
  const me = useCurrentUser();
  const list = (agents.data ?? []).filter((a) => a.id !== me.id);
  const listed = !value || value === 'me' || list.some((a) => a.id === value);
  const [custom, setCustom] = useState(!listed);
  const [draft, setDraft] = useState(listed ? '' : (value ?? ''));
  const selectId = useId();
  const inputId = useId();
  return (
    <div className="filter filter-assignee">
      <label htmlFor={selectId}>Assignee</label>
      <select
        id={selectId}
        value={custom ? 'id' : (value ?? '')}
        onChange={(e) => {
          const next = e.target.value;
          setCustom(next === 'id');
          if (next !== 'id') onChange(next || undefined);
        }}
      >
        <option value="">Anyone</option>
        <option value="me">Assigned to me</option>
        {list.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name}
          </option>
        ))}
        <option value="id">A user id…</option>
      </select>
      {custom ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            onChange(draft.trim() || undefined);
          }}
        >
          <label htmlFor={inputId} className="visually-hidden">
            Assignee user id
          </label>
          <input id={inputId} value={draft} placeholder="User id" onChange={(e) => setDraft(e.target.value)} />
          <button type="submit" className="button">
            Apply
          </button>
        </form>
      ) : null}
    </div>
  );
}
