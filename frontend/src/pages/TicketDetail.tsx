//! One ticket: its description, the conversation, its attachments and history, and for
//! agents and admins the controls that move it along. Internal notes are for staff only:
//! a requester's page never offers to write one and never shows one.
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi, useCurrentUser } from '../api/context';
import { unwrap } from '../api/client';
import { downloadAttachment } from '../api/download';
import { ApiError, formatBytes } from '../api/problem';
import { keys, useAgents, useAttachments, useComments, useEvents, useTicket, useUserDirectory } from '../api/queries';
import type { Attachment, Ticket, TicketEvent, TicketPatch, User } from '../api/schema';
import { PriorityBadge, StatusBadge } from '../components/Badges';
import { EmptyState, ErrorMessage, FieldMessage, Loading } from '../components/Feedback';
import { formErrors, type FormErrors } from '../api/fieldErrors';
import { lengthProblem, lengthProps, limitsOf } from '../api/limits';
import { FileDrop, UploadList } from '../components/FileDrop';
import { useTitle } from '../lib/useTitle';
import { PRIORITIES, STATUSES, formatDate, formatRelative, isStaff, priorityLabel, statusLabel } from '../lib/format';
import { useUploads } from '../lib/useUploads';

type NameOf = (id: string | null | undefined) => string;

/**
 * `assignee_id: null` unassigns (ARCHITECTURE.md). The tickets document may describe the
 * field as a plain string (poem-openapi's MaybeUndefined does not mark it nullable), so the
 * generated type cannot always say so; this is the one place that sends the null anyway.
 */
const UNASSIGN = null as unknown as NonNullable<TicketPatch['assignee_id']>;

export function TicketDetailPage() {
  const { id = '' } = useParams();
  const me = useCurrentUser();
  const ticketQuery = useTicket(id);
  const location = useLocation();
  const justCreated = (location.state as { created?: boolean } | null)?.created;
  const ticket = ticketQuery.data;
  useTitle(ticket ? ticket.subject : 'Ticket');

  if (ticketQuery.isPending) return <Loading label="Loading ticket…" />;
  if (ticketQuery.error || !ticket) {
    const notFound = ticketQuery.error instanceof ApiError && ticketQuery.error.status === 404;
    return (
      <section className="page" aria-labelledby="ticket-missing">
        <h1 id="ticket-missing" tabIndex={-1}>
          {notFound ? 'Ticket not found' : 'Could not load this ticket'}
        </h1>
        {notFound ? <p>It may have been deleted, or you may not have access to it.</p> : <ErrorMessage error={ticketQuery.error} />}
        <Link to="/tickets">Back to all tickets</Link>
      </section>
    );
  }

  return (
    <section className="page" aria-labelledby="ticket-title">
      <Link to="/tickets" className="back-link">
        ← All tickets
      </Link>
      {justCreated ? (
        <p className="notice notice-success" role="status">
          Ticket created. We will reply here.
        </p>
      ) : null}
      <TicketHeader ticket={ticket} />
      <div className="detail-grid">
        <div className="detail-main">
          <Description ticket={ticket} me={me} />
          <Conversation ticket={ticket} me={me} />
        </div>
        <aside className="detail-side" aria-label="Ticket details">
          <TicketControls ticket={ticket} me={me} />
          <Attachments ticket={ticket} me={me} />
          <History ticket={ticket} />
        </aside>
      </div>
    </section>
  );
}

function TicketHeader({ ticket }: { ticket: Ticket }) {
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
  return (
    <header className="ticket-header">
      <h1 id="ticket-title" tabIndex={-1}>
        {ticket.subject}
      </h1>
      <div className="ticket-meta">
        <StatusBadge status={ticket.status} />
        <PriorityBadge priority={ticket.priority} />
        <span className="muted">
          Opened by {nameOf(ticket.requester_id)} · <time dateTime={ticket.created_at}>{formatDate(ticket.created_at)}</time>
        </span>
      </div>
    </header>
  );
}

// From the tickets document (PATCH /api/tickets/{id}); see src/api/limits.ts.
const EDIT_SUBJECT = limitsOf('PATCH /api/tickets/{id}', 'subject');
const EDIT_DESCRIPTION = limitsOf('PATCH /api/tickets/{id}', 'description');

/**
 * The description, and for its requester and for staff a form to change the subject and the
 * description (the fields a requester may change). A 422 puts each message beside its field.
 */
function Description({ ticket, me }: { ticket: Ticket; me: User }) {
  const patch = usePatchTicket(ticket);
  const [editing, setEditing] = useState(false);
  const [subject, setSubject] = useState(ticket.subject);
  const [description, setDescription] = useState(ticket.description ?? '');
  const id = useId().replace(/[^A-Za-z0-9_-]/g, '');
  const canEdit = isStaff(me) || ticket.requester_id === me.id;
  const local = {
    subject: subject.trim() ? lengthProblem(subject.trim(), EDIT_SUBJECT) : 'A subject is required.',
    description: lengthProblem(description, EDIT_DESCRIPTION),
  };
  const form = formErrors(patch.error, `edit${id}`, ['subject', 'description'], local);

  if (!editing) {
    return (
      <article className="card description" aria-label="Description">
        {ticket.description ? <p className="prewrap">{ticket.description}</p> : <p className="muted">No description.</p>}
        {canEdit ? (
          <div className="actions compact">
            <button
              type="button"
              className="button small ghost"
              onClick={() => {
                setSubject(ticket.subject);
                setDescription(ticket.description ?? '');
                patch.reset();
                setEditing(true);
              }}
            >
              Edit subject and description
            </button>
          </div>
        ) : null}
      </article>
    );
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (local.subject || local.description) return;
    const change: TicketPatch = {};
    if (subject.trim() !== ticket.subject) change.subject = subject.trim();
    if (description !== (ticket.description ?? '')) change.description = description;
    if (Object.keys(change).length === 0) {
      setEditing(false);
      return;
    }
    patch.mutate(change, { onSuccess: () => setEditing(false) });
  };

  return (
    <form className="card form description" aria-label="Edit the ticket" onSubmit={onSubmit} noValidate aria-busy={patch.isPending}>
      <div className="field">
        <label htmlFor={`edit${id}-subject`}>Subject</label>
        <input
          id={`edit${id}-subject`}
          required
          {...lengthProps(EDIT_SUBJECT)}
          value={subject}
          disabled={patch.isPending}
          onChange={(e) => setSubject(e.target.value)}
          {...form.control('subject')}
        />
        <FieldMessage form={form} field="subject" />
      </div>
      <div className="field">
        <label htmlFor={`edit${id}-description`}>Description</label>
        <textarea
          id={`edit${id}-description`}
          rows={6}
          maxLength={EDIT_DESCRIPTION.maxLength}
          value={description}
          disabled={patch.isPending}
          onChange={(e) => setDescription(e.target.value)}
          {...form.control('description')}
        />
        <FieldMessage form={form} field="description" />
      </div>
      <ErrorMessage error={patch.error ? patchErrorText(patch.error) : null} form={form} />
      <div className="actions">
        <button type="button" className="button ghost" onClick={() => setEditing(false)} disabled={patch.isPending}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={patch.isPending || Boolean(local.subject || local.description)}>
          {patch.isPending ? 'Saving…' : 'Save changes'}
        </button>
      </div>
    </form>
  );
}

/** PATCH with the version the page last saw; a stale one reloads the ticket and says so. */
function usePatchTicket(ticket: Ticket) {
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

function patchErrorText(error: unknown): unknown {
  if (error instanceof ApiError && (error.status === 409 || error.status === 412)) {
    return new Error('Someone else changed this ticket meanwhile. The latest version is loaded now; please try again.');
  }
  return error;
}

function TicketControls({ ticket, me }: { ticket: Ticket; me: User }) {
  const staff = isStaff(me);
  const patch = usePatchTicket(ticket);
  const statusId = useId();
  const priorityId = useId();
  const form = formErrors(patch.error, `controls${statusId.replace(/[^A-Za-z0-9_-]/g, '')}`, ['status', 'priority', 'assignee_id']);
  const navigate = useNavigate();
  const { client } = useApi();
  const queryClient = useQueryClient();
  const del = useMutation({
    mutationFn: async () => unwrap(await client.DELETE('/api/tickets/{id}', { params: { path: { id: ticket.id } } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.allTickets });
      navigate('/tickets', { replace: true });
    },
  });

  return (
    <section className="card side-card" aria-labelledby="controls-title">
      <h2 id="controls-title">Details</h2>
      {staff ? (
        <div className="controls">
          <div className="field">
            <label htmlFor={statusId}>Status</label>
            <select
              id={statusId}
              value={ticket.status}
              disabled={patch.isPending}
              onChange={(e) => patch.mutate({ status: e.target.value as Ticket['status'] })}
              {...form.control('status')}
            >
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {statusLabel(s)}
                </option>
              ))}
            </select>
            <FieldMessage form={form} field="status" />
          </div>
          <div className="field">
            <label htmlFor={priorityId}>Priority</label>
            <select
              id={priorityId}
              value={ticket.priority}
              disabled={patch.isPending}
              onChange={(e) => patch.mutate({ priority: e.target.value as Ticket['priority'] })}
              {...form.control('priority')}
            >
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {priorityLabel(p)}
                </option>
              ))}
            </select>
            <FieldMessage form={form} field="priority" />
          </div>
          <AssigneeControl
            ticket={ticket}
            me={me}
            disabled={patch.isPending}
            onAssign={(id) => patch.mutate({ assignee_id: id ?? UNASSIGN })}
            form={form}
          />
        </div>
      ) : (
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={ticket.status} />
          </dd>
          <dt>Priority</dt>
          <dd>{priorityLabel(ticket.priority)}</dd>
          <dt>Assignee</dt>
          <dd data-testid="assignee">{ticket.assignee_id ? 'A support agent' : 'Not yet assigned'}</dd>
        </dl>
      )}
      <dl className="facts">
        <dt>Updated</dt>
        <dd>
          <time dateTime={ticket.updated_at}>{formatRelative(ticket.updated_at)}</time>
        </dd>
        <dt>Ticket id</dt>
        <dd className="mono">{ticket.id}</dd>
      </dl>
      {patch.isPending ? <Loading label="Saving…" /> : null}
      <ErrorMessage error={patch.error ? patchErrorText(patch.error) : null} form={form} />
      {!staff && ticket.requester_id === me.id && ticket.status !== 'closed' ? (
        <button type="button" className="button wide" disabled={patch.isPending} onClick={() => patch.mutate({ status: 'closed' })}>
          Close ticket
        </button>
      ) : null}
      {me.role === 'admin' ? (
        <>
          <button
            type="button"
            className="button danger wide"
            disabled={del.isPending}
            onClick={() => {
              if (window.confirm('Delete this ticket with its comments and attachments? This cannot be undone.')) del.mutate();
            }}
          >
            Delete ticket
          </button>
          <ErrorMessage error={del.error} />
        </>
      ) : null}
    </section>
  );
}

/**
 * Assignment for staff: a list of agents and admins from /api/agents, "Assign to me", and
 * when that list cannot be had, a field for a user id.
 */
function AssigneeControl({
  ticket,
  me,
  disabled,
  onAssign,
  form,
}: {
  ticket: Ticket;
  me: User;
  disabled: boolean;
  onAssign: (id: string | null) => void;
  form: FormErrors;
}) {
  const agents = useAgents();
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
  const selectId = useId();
  const inputId = useId();
  const [draft, setDraft] = useState('');
  const list = agents.data ?? [];
  const current = ticket.assignee_id ?? '';
  const currentListed = !current || list.some((a) => a.id === current);
  return (
    <div className="field">
      {agents.data ? (
        <>
          <label htmlFor={selectId}>Assignee</label>
          <select id={selectId} value={current} disabled={disabled} onChange={(e) => onAssign(e.target.value || null)} {...form.control('assignee_id')}>
            <option value="">Unassigned</option>
            {currentListed ? null : <option value={current}>{nameOf(current)}</option>}
            {list.map((a) => (
              <option key={a.id} value={a.id}>
                {a.id === me.id ? `${a.name} (you)` : a.name}
              </option>
            ))}
          </select>
        </>
      ) : (
        <span className="label">Assignee</span>
      )}
      <FieldMessage form={form} field="assignee_id" />
      <p className="assignee-current" data-testid="assignee">
        {nameOf(ticket.assignee_id)}
      </p>
      {ticket.assignee_id !== me.id ? (
        <div className="actions compact">
          <button type="button" className="button" disabled={disabled} onClick={() => onAssign(me.id)}>
            Assign to me
          </button>
        </div>
      ) : null}
      {agents.isPending ? <Loading label="Loading agents…" /> : null}
      {agents.error ? (
        <>
          <p className="hint">The list of agents is not available; assign by user id instead.</p>
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (draft.trim()) onAssign(draft.trim());
              setDraft('');
            }}
          >
            <label htmlFor={inputId} className="visually-hidden">
              Assign to user id
            </label>
            <input id={inputId} placeholder="User id" value={draft} onChange={(e) => setDraft(e.target.value)} {...form.control('assignee_id')} />
            <button type="submit" className="button" disabled={disabled || !draft.trim()}>
              Assign
            </button>
          </form>
          {ticket.assignee_id ? (
            <button type="button" className="button ghost" disabled={disabled} onClick={() => onAssign(null)}>
              Unassign
            </button>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

function Conversation({ ticket, me }: { ticket: Ticket; me: User }) {
  const staff = isStaff(me);
  const comments = useComments(ticket.id);
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
  const { client } = useApi();
  const queryClient = useQueryClient();
  const [body, setBody] = useState('');
  const [internal, setInternal] = useState(false);
  const bodyId = useId();
  const bodyLimits = limitsOf('POST /api/tickets/{id}/comments', 'body');
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await client.POST('/api/tickets/{id}/comments', {
          params: { path: { id: ticket.id } },
          // Requesters never send the flag at all.
          body: staff ? { body: body.trim(), internal } : { body: body.trim() },
        }),
      ),
    onSuccess: () => {
      setBody('');
      setInternal(false);
      void queryClient.invalidateQueries({ queryKey: keys.comments(ticket.id) });
      void queryClient.invalidateQueries({ queryKey: keys.events(ticket.id) });
    },
  });
  // The server already hides internal notes from requesters; never render one regardless.
  const list = (comments.data?.pages.flatMap((p) => p.items) ?? []).filter((c) => staff || !c.internal);

  const tooLong = lengthProblem(body.trim(), { maxLength: bodyLimits.maxLength });
  const form = formErrors(add.error, `comment${bodyId.replace(/[^A-Za-z0-9_-]/g, '')}`, ['body', 'internal'], { body: tooLong });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (body.trim() && !tooLong) add.mutate();
  };

  return (
    <section className="card conversation" aria-labelledby="conversation-title">
      <h2 id="conversation-title">Conversation</h2>
      {comments.isPending ? (
        <Loading label="Loading conversation…" />
      ) : comments.error ? (
        <ErrorMessage error={comments.error} />
      ) : list.length === 0 ? (
        <EmptyState title="No replies yet." />
      ) : (
        <ol className="comments">
          {list.map((c) => (
            <li key={c.id} className={`comment${c.internal ? ' comment-internal' : ''}${c.author_id === me.id ? ' comment-mine' : ''}`} data-testid="comment">
              <div className="comment-head">
                <strong>{nameOf(c.author_id)}</strong>
                {c.internal ? (
                  <span className="badge internal-badge" title="Visible to agents and admins only">
                    Internal note
                  </span>
                ) : null}
                <time dateTime={c.created_at} title={formatDate(c.created_at)} className="muted">
                  {formatRelative(c.created_at)}
                </time>
              </div>
              <p className="prewrap">{c.body}</p>
            </li>
          ))}
        </ol>
      )}
      {comments.hasNextPage ? (
        <button type="button" className="button ghost" onClick={() => void comments.fetchNextPage()} disabled={comments.isFetchingNextPage}>
          {comments.isFetchingNextPage ? 'Loading…' : 'Show more'}
        </button>
      ) : null}
      <form className={`composer${internal ? ' composer-internal' : ''}`} onSubmit={onSubmit}>
        <label htmlFor={bodyId}>{internal ? 'Internal note' : 'Reply'}</label>
        <textarea
          id={bodyId}
          rows={4}
          maxLength={bodyLimits.maxLength}
          value={body}
          {...form.control('body')}
          onChange={(e) => setBody(e.target.value)}
          placeholder={internal ? 'Only agents and admins will see this' : 'Write a reply'}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) onSubmit(e);
          }}
        />
        <FieldMessage form={form} field="body" />
        <div className="composer-actions">
          {staff ? (
            <label className="checkbox">
              <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.target.checked)} {...form.control('internal')} />
              Internal note (agents and admins only)
            </label>
          ) : (
            <span />
          )}
          <button type="submit" className="button primary" disabled={add.isPending || !body.trim() || Boolean(tooLong)}>
            {add.isPending ? 'Sending…' : internal ? 'Add internal note' : 'Send reply'}
          </button>
        </div>
        <FieldMessage form={form} field="internal" />
        <ErrorMessage error={add.error} form={form} />
      </form>
    </section>
  );
}

function Attachments({ ticket, me }: { ticket: Ticket; me: User }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const attachments = useAttachments(ticket.id);
  const uploads = useUploads();
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
  const [rowError, setRowError] = useState<{ id: string; error: unknown } | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const pending = uploads.items.some((i) => i.status === 'queued' || i.status === 'uploading');

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: keys.attachments(ticket.id) });
    void queryClient.invalidateQueries({ queryKey: keys.events(ticket.id) });
  };

  const onFiles = async (files: File[]) => {
    const fresh = uploads.add(files);
    if (fresh.length === 0) return;
    await uploads.uploadAll(ticket.id, fresh);
    refresh();
  };

  // Finished uploads show up in the list below, so their bars can go after a moment.
  const doneCount = uploads.items.filter((i) => i.status === 'done').length;
  const { clearDone } = uploads;
  useEffect(() => {
    if (doneCount === 0 || pending) return;
    const timer = setTimeout(clearDone, 2500);
    return () => clearTimeout(timer);
  }, [doneCount, pending, clearDone]);

  const download = async (a: Attachment) => {
    setBusyId(a.id);
    setRowError(null);
    try {
      await downloadAttachment(api, a);
    } catch (error) {
      setRowError({ id: a.id, error });
    } finally {
      setBusyId(null);
    }
  };

  const remove = async (a: Attachment) => {
    if (!window.confirm(`Delete ${a.filename}?`)) return;
    setBusyId(a.id);
    setRowError(null);
    try {
      unwrap(await api.client.DELETE('/api/attachments/{id}', { params: { path: { id: a.id } } }));
      refresh();
    } catch (error) {
      setRowError({ id: a.id, error });
    } finally {
      setBusyId(null);
    }
  };

  const list = attachments.data?.items ?? [];
  return (
    <section className="card side-card" aria-labelledby="attachments-title">
      <h2 id="attachments-title">Attachments</h2>
      {attachments.isPending ? (
        <Loading label="Loading attachments…" />
      ) : attachments.error ? (
        <ErrorMessage error={attachments.error} />
      ) : list.length === 0 ? (
        <p className="muted">No attachments.</p>
      ) : (
        <ul className="attachments" data-testid="attachments">
          {list.map((a) => (
            <li key={a.id}>
              <div className="attachment">
                <div className="attachment-info">
                  <span className="attachment-name">{a.filename}</span>
                  <span className="muted small">
                    {formatBytes(a.size)} · {nameOf(a.uploaded_by)} · {formatRelative(a.created_at)}
                  </span>
                </div>
                <div className="actions compact">
                  <button type="button" className="button small" disabled={busyId === a.id} onClick={() => void download(a)} aria-label={`Download ${a.filename}`}>
                    Download
                  </button>
                  {a.uploaded_by === me.id || isStaff(me) ? (
                    <button type="button" className="button small ghost danger-text" disabled={busyId === a.id} onClick={() => void remove(a)} aria-label={`Delete ${a.filename}`}>
                      Delete
                    </button>
                  ) : null}
                </div>
              </div>
              {rowError?.id === a.id ? <ErrorMessage error={rowError.error} /> : null}
            </li>
          ))}
        </ul>
      )}
      <FileDrop onFiles={(files) => void onFiles(files)} disabled={pending} label="Add files" policy={uploads.policy} />
      {uploads.notice ? (
        <p className="hint hint-error" role="status">
          {uploads.notice}
        </p>
      ) : null}
      <UploadList items={uploads.items} onRemove={pending ? undefined : uploads.remove} policy={uploads.policy} />
    </section>
  );
}

function describeEvent(event: TicketEvent, nameOf: NameOf): string {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (v == null ? 'none' : String(v));
  switch (event.kind) {
    case 'created':
      return 'opened the ticket';
    case 'status_changed':
      return `changed status from ${statusLabel(text(data.from))} to ${statusLabel(text(data.to))}`;
    case 'priority_changed':
      return `changed priority from ${priorityLabel(text(data.from))} to ${priorityLabel(text(data.to))}`;
    case 'assignee_changed':
      if (data.to == null) return 'unassigned the ticket';
      return nameOf(data.to as string) === 'Support team'
        ? 'assigned the ticket to a support agent'
        : `assigned the ticket to ${nameOf(data.to as string)}`;
    case 'updated': {
      const fields = Array.isArray(data.fields) ? (data.fields as string[]) : [];
      return fields.length ? `edited the ${fields.join(' and ')}` : 'edited the ticket';
    }
    case 'comment_added':
      return data.internal ? 'added an internal note' : 'replied';
    case 'attachment_added':
      return `attached ${text(data.filename)}`;
    case 'attachment_removed':
      return `removed ${text(data.filename)}`;
    default:
      return String(event.kind).replace(/_/g, ' ');
  }
}

function History({ ticket }: { ticket: Ticket }) {
  const events = useEvents(ticket.id);
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
  const list = events.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="card side-card" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {events.isPending ? (
        <Loading label="Loading history…" />
      ) : events.error ? (
        <ErrorMessage error={events.error} />
      ) : list.length === 0 ? (
        <p className="muted">Nothing has happened yet.</p>
      ) : (
        <ol className="timeline" data-testid="history">
          {list.map((e) => (
            <li key={e.id}>
              <span className="timeline-dot" aria-hidden="true" />
              <div>
                <strong>{nameOf(e.actor_id)}</strong> {describeEvent(e, nameOf)}
                <div className="muted small">
                  <time dateTime={e.created_at} title={formatDate(e.created_at)}>
                    {formatRelative(e.created_at)}
                  </time>
                </div>
              </div>
            </li>
          ))}
        </ol>
      )}
      {events.hasNextPage ? (
        <button type="button" className="button ghost" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
          Show more
        </button>
      ) : null}
    </section>
  );
}
