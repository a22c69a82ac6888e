/**
 * Opening a ticket, with attachments. The ticket is created first, then each file is
 * uploaded to it with its own progress bar. If a file fails (too large, wrong type, rate
 * limited) the ticket still exists: the page says which file failed and why, and offers
 * to retry or go on to the ticket.
 */
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi } from '../api/context';
import { unwrap } from '../api/client';
import { keys } from '../api/queries';
import type { Priority, Ticket } from '../api/schema';
import { ErrorMessage, FieldMessage } from '../components/Feedback';
import { formErrors } from '../api/fieldErrors';
import { lengthHint, lengthProblem, lengthProps, limitsOf } from '../api/limits';
import { ApiError } from '../api/problem';
import { FileDrop, UploadList } from '../components/FileDrop';
import { useTitle } from '../lib/useTitle';
import { PRIORITIES, priorityLabel } from '../lib/format';
import { useUploads } from '../lib/useUploads';

// From the tickets document (POST /api/tickets); see src/api/limits.ts.
const SUBJECT = limitsOf('POST /api/tickets', 'subject');
const DESCRIPTION = limitsOf('POST /api/tickets', 'description');
/** How long finished uploads stay on screen at 100% before the ticket opens. */
export const DONE_PAUSE_MS = 600;

export function NewTicketPage() {
  useTitle('New ticket');
  const { client } = useApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const uploads = useUploads();
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState<Priority>('normal');
  const [created, setCreated] = useState<Ticket | null>(null);
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const [uploadFailed, setUploadFailed] = useState(false);

  /** Uploads the files to `ticket`, then opens it; stays on the page when a file failed. */
  const finishUploads = async (ticket: Ticket) => {
    setUploading(true);
    setUploadError(null);
    try {
      const { failed } = await uploads.uploadAll(ticket.id);
      void queryClient.invalidateQueries({ queryKey: keys.attachments(ticket.id) });
      if (failed === 0) {
        if (uploads.items.length > 0) await new Promise((resolve) => setTimeout(resolve, DONE_PAUSE_MS));
        navigate(`/tickets/${encodeURIComponent(ticket.id)}`, { state: { created: true } });
      } else {
        setUploadFailed(true);
        setUploading(false);
      }
    } catch (err) {
      setUploadError(err);
      setUploading(false);
    }
  };

  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await client.POST('/api/tickets', {
          body: { subject: subject.trim(), description, priority },
        }),
      ),
    onSuccess: (ticket) => {
      setCreated(ticket);
      void queryClient.invalidateQueries({ queryKey: keys.allTickets });
      void finishUploads(ticket);
    },
  });
  const error = create.error ?? uploadError;
  const busy = create.isPending || uploading;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (created) return;
    create.mutate();
  };

  const local = { subject: lengthProblem(subject.trim(), SUBJECT), description: lengthProblem(description, DESCRIPTION) };
  const form = formErrors(error, 'new-ticket', ['subject', 'description', 'priority'], local);
  const subjectHint = lengthHint(SUBJECT);
  const descriptionHint = lengthHint(DESCRIPTION);
  const locked = busy || created !== null;
  const allUploaded = uploads.items.length > 0 && uploads.items.every((i) => i.status === 'done');
  // Too large, wrong type and the like fail the same way again; only offer a retry that can work.
  const retryable = uploads.items.some(
    (i) => i.status === 'failed' && !(i.error instanceof ApiError && i.error.status < 500 && i.error.status !== 429 && i.error.status !== 401),
  );

  return (
    <section className="page narrow" aria-labelledby="new-ticket-title">
      <div className="page-header">
        <h1 id="new-ticket-title" tabIndex={-1}>
          New ticket
        </h1>
      </div>
      <form className="card form" onSubmit={onSubmit} noValidate aria-busy={busy}>
        <div className="field">
          <label htmlFor="ticket-subject">Subject</label>
          <input
            id="ticket-subject"
            required
            {...lengthProps(SUBJECT)}
            value={subject}
            disabled={locked}
            onChange={(e) => setSubject(e.target.value)}
            placeholder="A short summary of the problem"
            {...form.control('subject', subjectHint ? 'ticket-subject-hint' : undefined)}
          />
          <FieldMessage form={form} field="subject" />
          {subjectHint ? (
            <p id="ticket-subject-hint" className="hint">
              {subjectHint}
            </p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor="ticket-description">Description</label>
          <textarea
            id="ticket-description"
            rows={7}
            maxLength={DESCRIPTION.maxLength}
            value={description}
            disabled={locked}
            onChange={(e) => setDescription(e.target.value)}
            placeholder="What happened, what you expected, and anything that helps us reproduce it"
            {...form.control('description', descriptionHint ? 'ticket-description-hint' : undefined)}
          />
          <FieldMessage form={form} field="description" />
          {descriptionHint ? (
            <p id="ticket-description-hint" className="hint">
              {descriptionHint}
            </p>
          ) : null}
        </div>
        <div className="field field-inline">
          <label htmlFor="ticket-priority">Priority</label>
          <select
            id="ticket-priority"
            value={priority}
            disabled={locked}
            onChange={(e) => setPriority(e.target.value as Priority)}
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
        <fieldset className="field">
          <legend>Attachments</legend>
          <FileDrop onFiles={uploads.add} disabled={busy} policy={uploads.policy} />
          {uploads.notice ? (
            <p className="hint hint-error" role="status">
              {uploads.notice}
            </p>
          ) : null}
          <UploadList items={uploads.items} onRemove={busy ? undefined : uploads.remove} policy={uploads.policy} />
        </fieldset>
        <ErrorMessage error={error} form={form} />
        {created && uploadFailed ? (
          <div className="notice notice-warning" role="status">
            <p>
              Your ticket was created, but some files were not uploaded. Remove or retry them, or go on without them.
            </p>
            <div className="actions">
              {retryable ? (
                <button
                  type="button"
                  className="button"
                  disabled={busy}
                  onClick={() => {
                    setUploadFailed(false);
                    void finishUploads(created);
                  }}
                >
                  Retry failed uploads
                </button>
              ) : null}
              <Link className="button primary" to={`/tickets/${encodeURIComponent(created.id)}`}>
                Go to the ticket
              </Link>
            </div>
          </div>
        ) : (
          <div className="actions">
            <Link to="/tickets" className="button ghost">
              Cancel
            </Link>
            <button type="submit" className="button primary" disabled={locked || !subject.trim() || Boolean(local.subject || local.description)}>
              {busy ? (created ? (allUploaded ? 'Opening the ticket…' : 'Uploading files…') : 'Creating…') : 'Create ticket'}
            </button>
          </div>
        )}
      </form>
    </section>
  );
}
