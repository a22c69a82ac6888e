/**
 * The side card of a ticket's facts: for staff the status, priority and assignee controls;
 * for its requester "Close ticket"; for admins "Delete ticket".
 */
import { useId, useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi } from '../../api/context';
import { unwrap } from '../../api/client';
import { keys, useAgents, useUserDirectory } from '../../api/queries';
import type { Ticket, User } from '../../api/schema';
import { StatusBadge } from '../../components/Badges';
import { ErrorMessage, FieldMessage, Loading } from '../../components/Feedback';
import { formErrors, type FormErrors } from '../../api/fieldErrors';
import { PRIORITIES, STATUSES, formatRelative, isStaff, priorityLabel, statusLabel } from '../../lib/format';
import { UNASSIGN, patchErrorText, usePatchTicket } from './usePatchTicket';

export function TicketControls({ ticket, me }: { ticket: Ticket; me: User }) {
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
