//! Loading, empty and error states, used the same way on every page.
import type { ReactNode } from 'react';
import { ApiError, describeError } from '../api/problem';

export function ErrorMessage({ error, id, className }: { error: unknown; id?: string; className?: string }) {
  if (!error) return null;
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  return (
    <div role="alert" id={id} className={`error-message ${className ?? ''}`.trim()}>
      <span>{describeError(error)}</span>
      {requestId ? <span className="error-ref">Reference: {requestId}</span> : null}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}
