/**
 * Errors from the API as values people can read. Every failing response is turned into an
 * `ApiError` carrying the status, the problem+json body (when there was one) and the
 * Retry-After delay, and `describeError` says what went wrong in plain words.
 */
import type { Problem } from './schema';

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Partial<Problem> | null;
  /** Seconds to wait before retrying, from Retry-After (429/503), else null. */
  readonly retryAfter: number | null;

  constructor(status: number, problem: Partial<Problem> | null, retryAfter: number | null = null) {
    super(problem?.detail || problem?.title || `Request failed with status ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  get requestId(): string | undefined {
    return this.problem?.request_id;
  }
}

/** Reads Retry-After, either delay-seconds or an HTTP date, as seconds from `now`. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function asProblem(body: unknown): Partial<Problem> | null {
  if (body && typeof body === 'object') return body as Partial<Problem>;
  if (typeof body === 'string' && body.trim() !== '') return { detail: body.trim() };
  return null;
}

/** Builds an ApiError from a status, a parsed (or raw text) body and the response headers. */
export function apiError(status: number, body: unknown, headers?: Headers | null): ApiError {
  const retryAfter = parseRetryAfter(headers?.get('Retry-After') ?? null);
  return new ApiError(status, asProblem(body), retryAfter);
}

/** Reads a failed fetch Response into an ApiError (problem+json, other JSON or text). */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    const text = await response.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  } catch {
    body = null;
  }
  return apiError(response.status, body, response.headers);
}

/** The size limit named in a 413's detail ("10 MiB", "10485760 bytes"), else null. */
export function uploadLimit(detail: string | undefined): string | null {
  if (!detail) return null;
  const unit = detail.match(/(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB|KB|MB|GB)\b/i);
  if (unit) return `${unit[1]} ${unit[2]}`;
  const bytes = detail.match(/(\d{4,})\s*(?:bytes|B)\b/i);
  if (bytes) return formatBytes(Number(bytes[1]));
  return null;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${units[i]}`;
}

/** "in 30 seconds", "in 3 minutes", "in about 2 hours". */
export function formatWait(seconds: number): string {
  if (seconds <= 1) return 'in a moment';
  if (seconds < 90) return `in ${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return `in ${minutes} minutes`;
  return `in about ${Math.round(minutes / 60)} hours`;
}

/**
 * A sentence for a person, for any error the app can meet. For uploads, describeUploadError
 * (src/api/uploadPolicy.ts) says the limit and the allowed types from the service's policy;
 * without it, a 413 names the limit its own detail gives.
 */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const detail = error.problem?.detail?.trim();
    switch (error.status) {
      case 413: {
        const limit = uploadLimit(detail);
        return limit ? `File too large (limit ${limit} per file).` : 'File too large.';
      }
      case 415:
        return 'This file type is not allowed.';
      case 429: {
        const when =
          error.retryAfter != null ? formatWait(error.retryAfter) : 'in a few minutes';
        return `Too many requests. Please try again ${when}.`;
      }
      default:
        if (detail) return detail;
        if (error.problem?.title) return error.problem.title;
        if (error.status >= 500) return 'The server had a problem. Please try again.';
        return `Request failed (${error.status}).`;
    }
  }
  if (error instanceof TypeError) return 'Cannot reach Docket. Check your connection and try again.';
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}
