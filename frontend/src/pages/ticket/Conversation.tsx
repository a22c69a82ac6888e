/**
 * The conversation: replies and, for staff, internal notes, with the composer. Internal notes
 * are for staff only: a requester's page never offers to write one and never shows one.
 */
import { useId, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi } from '../../api/context';
import { unwrap } from '../../api/client';
import { keys, useComments, useUserDirectory } from '../../api/queries';
import type { Ticket, User } from '../../api/schema';
import { EmptyState, ErrorMessage, FieldMessage, Loading } from '../../components/Feedback';
import { formErrors } from '../../api/fieldErrors';
import { lengthProblem, limitsOf } from '../../api/limits';
import { formatDate, formatRelative, isStaff } from '../../lib/format';

export function Conversation({ ticket, me }: { ticket: Ticket; me: User }) {
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
