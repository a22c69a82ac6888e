/**
 * Route guards: pages under <RequireAuth> see a signed-in user; the rest wait for the
 * session check on load, then go to the sign-in page, which returns them afterwards.
 */
import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useSession } from '../api/context';
import type { Role } from '../api/schema';
import { EmptyState, Loading } from './Feedback';

export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useSession();
  const location = useLocation();
  if (status === 'loading') return <Loading label="Checking your session…" />;
  if (status === 'signed-out') {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

export function RequireRole({ roles, children }: { roles: Role[]; children: ReactNode }) {
  const { user } = useSession();
  if (!user || !roles.includes(user.role)) {
    return (
      <EmptyState title="You don't have access to this page.">
        <p>Ask an administrator if you think you should.</p>
      </EmptyState>
    );
  }
  return <>{children}</>;
}

/** Sign-in and register: a signed-in visitor goes straight on. */
export function RedirectIfSignedIn({ children }: { children: ReactNode }) {
  const { status } = useSession();
  const location = useLocation();
  if (status === 'loading') return <Loading label="Checking your session…" />;
  if (status === 'signed-in') {
    const next = new URLSearchParams(location.search).get('next');
    return <Navigate to={next && next.startsWith('/') && !next.startsWith('//') ? next : '/tickets'} replace />;
  }
  return <>{children}</>;
}
