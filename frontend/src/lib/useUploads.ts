//! The state of a batch of uploads: which files are queued, how far each one got, which
//! failed and why. Files go one at a time (one request each) so every file gets its own
//! progress bar and its own error, and a burst does not eat the upload rate limit.
import { useCallback, useLayoutEffect, useRef, useState } from 'react';
import { useApi } from '../api/context';
import { uploadAttachment, type UploadResult } from '../api/upload';
import { limitsOf } from '../api/limits';

/** How many files one upload takes, from the attachments document (the `file` field's maxItems). */
export const MAX_FILES: number | undefined = limitsOf('POST /api/tickets/{id}/attachments', 'file').maxItems;

export type UploadStatus = 'queued' | 'uploading' | 'done' | 'failed';
export interface UploadItem {
  key: string;
  file: File;
  progress: number;
  status: UploadStatus;
  error?: unknown;
  result?: UploadResult;
}

let counter = 0;

export function useUploads(XHR?: typeof XMLHttpRequest) {
  const api = useApi();
  const [items, setItems] = useState<UploadItem[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  // The latest list, for callbacks that run after several state updates in one go.
  const itemsRef = useRef(items);
  useLayoutEffect(() => {
    itemsRef.current = items;
  }, [items]);

  const patch = useCallback((key: string, change: Partial<UploadItem>) => {
    setItems((list) => list.map((item) => (item.key === key ? { ...item, ...change } : item)));
  }, []);

  /** Queues files, at most MAX_FILES waiting at once. */
  const add = useCallback((files: File[]) => {
    const waiting = itemsRef.current.filter((i) => i.status !== 'done').length;
    const room = MAX_FILES === undefined ? files.length : Math.max(0, MAX_FILES - waiting);
    const accepted = files.slice(0, room);
    setNotice(
      files.length > room ? `You can attach up to ${MAX_FILES} files at a time; ${files.length - room} left out.` : null,
    );
    const fresh = accepted.map((file) => ({ key: `u${(counter += 1)}`, file, progress: 0, status: 'queued' as const }));
    itemsRef.current = [...itemsRef.current, ...fresh];
    setItems((list) => [...list, ...fresh]);
    return fresh;
  }, []);

  const remove = useCallback((key: string) => {
    setItems((list) => list.filter((item) => item.key !== key || item.status === 'uploading'));
  }, []);

  /** Uploads every queued (or failed) file to the ticket; resolves with how many failed. */
  const uploadAll = useCallback(
    async (ticketId: string, only?: UploadItem[]): Promise<{ failed: number; uploaded: number }> => {
      const todo = (only ?? itemsRef.current).filter((i) => i.status === 'queued' || i.status === 'failed');
      let failed = 0;
      for (const item of todo) {
        patch(item.key, { status: 'uploading', progress: 0, error: undefined });
        try {
          const result = await uploadAttachment({
            baseUrl: api.baseUrl,
            session: api.session,
            ticketId,
            file: item.file,
            XHR,
            onProgress: (fraction) => patch(item.key, { progress: fraction }),
          });
          patch(item.key, { status: 'done', progress: 1, result });
        } catch (error) {
          failed += 1;
          patch(item.key, { status: 'failed', error });
        }
      }
      return { failed, uploaded: todo.length - failed };
    },
    [api, patch, XHR],
  );

  const clearDone = useCallback(() => setItems((list) => list.filter((i) => i.status !== 'done')), []);

  return { items, notice, add, remove, uploadAll, clearDone };
}
