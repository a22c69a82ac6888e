/** The ticket's description, and the form that edits the subject and the description. */
import { useId, useState, type FormEvent } from 'react';
import type { Ticket, TicketPatch, User } from '../../api/schema';
import { ErrorMessage, FieldMessage } from '../../components/Feedback';
import { formErrors } from '../../api/fieldErrors';
import { lengthProblem, lengthProps, limitsOf } from '../../api/limits';
import { isStaff } from '../../lib/format';
import { patchErrorText, usePatchTicket } from './usePatchTicket';

// From the tickets document (PATCH /api/tickets/{id}); see src/api/limits.ts.
const EDIT_SUBJECT = limitsOf('PATCH /api/tickets/{id}', 'subject');
const EDIT_DESCRIPTION = limitsOf('PATCH /api/tickets/{id}', 'description');

/**
 * The description, and for its requester and for staff a form to change the subject and the
 * description (the fields a requester may change). A 422 puts each message beside its field.
 */
export function Description({ ticket, me }: { ticket: Ticket; me: User }) {
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
