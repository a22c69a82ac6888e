/**
 * The signed-in session. The access token lives only in this object's memory; the refresh
 * token lives in the `docket_refresh` HttpOnly cookie, which the browser sends to
 * /api/auth/refresh. `fetch` adds the bearer token and, on a 401, refreshes once and
 * retries the request once. Concurrent refreshes share one request, because the refresh
 * token rotates and a second use of the old one would be rejected.
 */
import type { AuthResponse, User } from './schema';

export type SessionStatus = 'loading' | 'signed-in' | 'signed-out';
/** Why nobody is signed in: never was, chose to sign out, or the session ran out. */
export type SignedOutReason = 'none' | 'signed-out' | 'expired';
export interface SessionState {
  status: SessionStatus;
  user: User | null;
  reason?: SignedOutReason;
}

type Fetch = (input: Request) => Promise<Response>;

/** Paths whose 401 means "wrong credentials", not "token expired": never refresh for them. */
const NO_REFRESH = ['/api/auth/login', '/api/auth/register', '/api/auth/refresh', '/api/auth/logout'];

export class Session {
  private token: string | null = null;
  private state: SessionState = { status: 'loading', user: null };
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly baseUrl: string;
  private readonly rawFetch: Fetch;

  constructor(baseUrl: string, rawFetch?: Fetch) {
    this.baseUrl = baseUrl;
    this.rawFetch = rawFetch ?? ((request) => globalThis.fetch(request));
  }

  getState = (): SessionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  accessToken(): string | null {
    return this.token;
  }

  /** Adopts the answer of register, login or refresh. */
  signedIn(auth: AuthResponse): void {
    this.token = auth.access_token;
    this.setState({ status: 'signed-in', user: auth.user });
  }

  /** Forgets the token (after sign-out, or when the refresh token is no longer good). */
  signedOut(reason: SignedOutReason = 'none'): void {
    this.token = null;
    this.setState({ status: 'signed-out', user: null, reason });
  }

  /** Replaces the current user (e.g. after an admin changes their own record). */
  updateUser(user: User): void {
    if (this.state.status === 'signed-in') this.setState({ status: 'signed-in', user });
  }

  /**
   * Exchanges the refresh cookie for a new access token. Calls made while one is in flight
   * share it. Resolves true when signed in afterwards.
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /**
   * Tabs share the cookie, so two tabs refreshing at once would present the same token
   * twice, and the second use revokes the whole session. A Web Lock (where the browser has
   * them) makes tabs take turns; the later one then sends the already-rotated cookie.
   */
  private doRefresh(): Promise<boolean> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    // request() resolves with the callback's promise, which `then` flattens.
    if (locks?.request) return locks.request('docket-refresh', () => this.refreshRequest()).then((ok) => ok);
    return this.refreshRequest();
  }

  private async refreshRequest(): Promise<boolean> {
    try {
      const response = await this.rawFetch(
        new Request(`${this.baseUrl}/api/auth/refresh`, {
          method: 'POST',
          credentials: 'include',
          headers: { Accept: 'application/json' },
        }),
      );
      if (!response.ok) {
        this.signedOut(this.state.status === 'signed-in' ? 'expired' : 'none');
        return false;
      }
      this.signedIn((await response.json()) as AuthResponse);
      return true;
    } catch {
      // Offline or the server is down: nothing proves the session is gone, but we cannot
      // use it either. Treat as signed out; the sign-in page says what failed next.
      this.signedOut();
      return false;
    }
  }

  /**
   * After a request sent with `usedToken` got a 401: true when a newer token is available
   * to retry with (another call already refreshed, or this one refreshes now).
   */
  async recoverFrom401(usedToken: string | null): Promise<boolean> {
    if (this.token && this.token !== usedToken) return true;
    return this.refresh();
  }

  /** fetch for the API: bearer token added; on 401, refresh and retry once. */
  fetch = async (input: Request): Promise<Response> => {
    const retry = input.clone();
    const usedToken = this.token;
    const first = await this.send(input, usedToken);
    if (first.status !== 401 || NO_REFRESH.some((p) => new URL(input.url).pathname.endsWith(p))) {
      return first;
    }
    if (!(await this.recoverFrom401(usedToken))) return first;
    return this.send(retry, this.token);
  };

  private send(request: Request, token: string | null): Promise<Response> {
    const headers = new Headers(request.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    return this.rawFetch(new Request(request, { headers, credentials: 'include' }));
  }

  private setState(next: SessionState): void {
    this.state = next;
    for (const listener of this.listeners) listener();
  }
}
