/**
 * The typed API client: openapi-fetch over the generated `paths`, sending every request
 * through the session so it carries the bearer token and survives an expired one.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';
import { Session } from './session';
import { apiError } from './problem';

export type ApiClient = Client<paths>;

export interface Api {
  baseUrl: string;
  session: Session;
  client: ApiClient;
}

export function createApi(baseUrl: string, rawFetch?: (input: Request) => Promise<Response>): Api {
  const session = new Session(baseUrl, rawFetch);
  const client = createClient<paths>({ baseUrl, fetch: session.fetch });
  return { baseUrl, session, client };
}

/**
 * The data of an openapi-fetch answer, or an ApiError built from its status, problem body
 * and headers.
 */
export function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(
  result: R,
): NonNullable<R['data']> {
  if (result.error !== undefined || !result.response.ok) {
    throw apiError(result.response.status, result.error ?? null, result.response.headers);
  }
  return result.data as NonNullable<R['data']>;
}
