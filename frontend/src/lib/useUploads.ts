/**
 * The state of a batch of uploads: which files are queued, how far each one got, which
 * failed and why. Files go one at a time (one request each) so every file gets its own
 * progress bar and its own error, and a burst does not eat the upload rate limit.
 *
 * The service's upload policy (GET /api/attachments/policy) is fetched here, as soon as an
 * upload UI is shown: a file over its size or with an extension no allowed type has is
 * `refused` on the spot, never sent, and at most `max_files` files wait at once.
 */
import { useCallback, useLayoutEffect, useRef, useState } from 'react';
import { useApi } from '../api/context';
import { useUploadPolicy } from '../api/queries';
import { uploadAttachment, type UploadResult } from '../api/upload';
import { fileProblem } from '../api/uploadPolicy';

/** `refused`: the policy rules the file out, so it is not sent (and not retried). */
export type UploadStatus = 'queued' | 'uploading' | 'done' | 'failed' | 'refused';
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
  const policy = useUploadPolicy().data;
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

  /** Queues files (the policy's refusals marked as such), at most `max_files` waiting at once. */
  const add = useCallback(
    (files: File[]) => {
      const max = policy?.max_files;
      const waiting = itemsRef.current.filter((i) => i.status !== 'done' && i.status !== 'refused').length;
      const room = max === undefined ? files.length : Math.max(0, max - waiting);
      const accepted = files.slice(0, room);
      setNotice(files.length > room ? `You can attach up to ${max} files at a time; ${files.length - room} left out.` : null);
      const fresh = accepted.map((file): UploadItem => {
        const key = `u${(counter += 1)}`;
        const problem = policy ? fileProblem(file, policy) : null;
        return problem
          ? { key, file, progress: 0, status: 'refused', error: new Error(problem) }
          : { key, file, progress: 0, status: 'queued' };
      });
      itemsRef.current = [...itemsRef.current, ...fresh];
      setItems((list) => [...list, ...fresh]);
      return fresh;
    },
    [policy],
  );

  const remove = useCallback((key: string) => {
    setItems((list) => list.filter((item) => item.key !== key || item.status === 'uploading'));
  }, []);

  /**
   * Uploads every queued (or failed) file to the ticket; resolves with how many were not
   * stored (refused ones included) and how many were.
   */
  const uploadAll = useCallback(
    async (ticketId: string, only?: UploadItem[]): Promise<{ failed: number; uploaded: number }> => {
      const candidates = only ?? itemsRef.current;
      const todo = candidates.filter((i) => i.status === 'queued' || i.status === 'failed');
      const refused = candidates.filter((i) => i.status === 'refused').length;
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
      return { failed: failed + refused, uploaded: todo.length - failed };
    },
    [api, patch, XHR],
  );

  const clearDone = useCallback(() => setItems((list) => list.filter((i) => i.status !== 'done')), []);

  return { items, notice, policy, add, remove, uploadAll, clearDone };
}
