/**
 * Attachment uploads with progress. fetch cannot report upload progress, so this uses
 * XMLHttpRequest: one request per file (so each file has its own bar and its own error),
 * multipart field `file`, the bearer token from the session, and like every other call a
 * single refresh-and-retry on 401.
 */
import type { paths } from './schema';
import type { Session } from './session';
import { apiError, ApiError } from './problem';

type UploadPath = paths['/api/tickets/{id}/attachments']['post'];
type Created = UploadPath['responses'][201]['content'];
/** What the service answers: a bare array of what it stored (whatever the JSON media type's parameters). */
export type UploadResult = Created[keyof Created];

export interface UploadOptions {
  baseUrl: string;
  session: Session;
  ticketId: string;
  file: File;
  /** Called with the fraction sent, 0..1; 1 only once the server has stored the file. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** For tests. */
  XHR?: typeof XMLHttpRequest;
}

function parseBody(xhr: XMLHttpRequest): unknown {
  const text = xhr.responseText;
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function headersOf(xhr: XMLHttpRequest): Headers {
  const headers = new Headers();
  const retryAfter = xhr.getResponseHeader('Retry-After');
  if (retryAfter) headers.set('Retry-After', retryAfter);
  return headers;
}

function sendOnce(options: UploadOptions, token: string | null): Promise<{ status: number; body: unknown; headers: Headers }> {
  const { baseUrl, ticketId, file, onProgress, signal } = options;
  const XHR = options.XHR ?? XMLHttpRequest;
  return new Promise((resolve, reject) => {
    const xhr = new XHR();
    xhr.open('POST', `${baseUrl}/api/tickets/${encodeURIComponent(ticketId)}/attachments`);
    xhr.withCredentials = true;
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (event) => {
      // Hold back the last bit until the server answers: bytes sent is not "stored".
      if (event.lengthComputable && event.total > 0) onProgress?.(Math.min(0.99, event.loaded / event.total));
    };
    xhr.onload = () => resolve({ status: xhr.status, body: parseBody(xhr), headers: headersOf(xhr) });
    xhr.onerror = () => reject(new TypeError('Network error while uploading'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** Uploads one file; resolves with the stored attachments, rejects with an ApiError. */
export async function uploadAttachment(options: UploadOptions): Promise<UploadResult> {
  const { session, onProgress } = options;
  onProgress?.(0);
  let usedToken = session.accessToken();
  let answer = await sendOnce(options, usedToken);
  if (answer.status === 401 && (await session.recoverFrom401(usedToken))) {
    onProgress?.(0);
    usedToken = session.accessToken();
    answer = await sendOnce(options, usedToken);
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw apiError(answer.status, answer.body, answer.headers);
  }
  if (!Array.isArray(answer.body)) {
    throw new ApiError(answer.status, { detail: 'The server answered the upload in an unexpected form.' });
  }
  onProgress?.(1);
  return answer.body as UploadResult;
}
