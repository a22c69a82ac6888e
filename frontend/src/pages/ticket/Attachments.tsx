/** A ticket's attachments: the list with download and delete, and uploads with progress. */
import { useEffect } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi } from '../../api/context';
import { unwrap } from '../../api/client';
import { downloadAttachment } from '../../api/download';
import { formatBytes } from '../../api/problem';
import { keys, useAttachments, useUserDirectory } from '../../api/queries';
import type { Attachment, Ticket, User } from '../../api/schema';
import { ErrorMessage, Loading } from '../../components/Feedback';
import { FileDrop, UploadList } from '../../components/FileDrop';
import { formatRelative, isStaff } from '../../lib/format';
import { useUploads } from '../../lib/useUploads';

export function Attachments({ ticket, me }: { ticket: Ticket; me: User }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const attachments = useAttachments(ticket.id);
  const uploads = useUploads();
  const nameOf = useUserDirectory({ requesterId: ticket.requester_id });
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

  // Downloading or deleting one file: the row it concerns shows its progress and its error.
  const row = useMutation({
    mutationFn: async ({ attachment, action }: { attachment: Attachment; action: 'download' | 'delete' }) => {
      if (action === 'download') await downloadAttachment(api, attachment);
      else unwrap(await api.client.DELETE('/api/attachments/{id}', { params: { path: { id: attachment.id } } }));
    },
    onSuccess: (_, { action }) => {
      if (action === 'delete') refresh();
    },
  });
  const busyId = row.isPending ? row.variables.attachment.id : null;
  const rowError = row.isError ? { id: row.variables.attachment.id, error: row.error } : null;
  const download = (attachment: Attachment) => row.mutate({ attachment, action: 'download' });
  const remove = (attachment: Attachment) => {
    if (window.confirm(`Delete ${attachment.filename}?`)) row.mutate({ attachment, action: 'delete' });
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
                  <button type="button" className="button small" disabled={busyId === a.id} onClick={() => download(a)} aria-label={`Download ${a.filename}`}>
                    Download
                  </button>
                  {a.uploaded_by === me.id || isStaff(me) ? (
                    <button type="button" className="button small ghost danger-text" disabled={busyId === a.id} onClick={() => remove(a)} aria-label={`Delete ${a.filename}`}>
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
