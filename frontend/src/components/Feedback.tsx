/**
 * Loading, empty and error states, used the same way on every page.
 */
import type { ReactNode } from 'react';
import { ApiError, describeError } from '../api/problem';
import { fieldErrorsOf, type FormErrors } from '../api/fieldErrors';

/**
 * A failed request, said in words (by `describe`, describeError unless given). With `form`,
 * field errors the form shows beside its fields are left to them, and the rest (fields the
 * form does not show) are listed here.
 */
export function ErrorMessage({
  error,
  id,
  className,
  form,
  describe = describeError,
}: {
  error: unknown;
  id?: string;
  className?: string;
  form?: FormErrors;
  describe?: (error: unknown) => string;
}) {
  if (!error) return null;
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  const listed = form ? form.others : fieldErrorsOf(error);
  return (
    <div role="alert" id={id} className={`error-message ${className ?? ''}`.trim()}>
      <span>{describe(error)}</span>
      {form?.any ? <span>Please correct the marked fields.</span> : null}
      {listed.length ? (
        <ul className="error-list">
          {listed.map((e) => (
            <li key={`${e.field}:${e.message}`}>
              {e.field}: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {requestId ? <span className="error-ref">Reference: {requestId}</span> : null}
    </div>
  );
}

/** A field's own error, beside it; the control points at it with `form.control(field)`. */
export function FieldMessage({ form, field }: { form: FormErrors; field: string }) {
  const message = form.message(field);
  if (!message) return null;
  return (
    <p id={form.id(field)} className="field-error">
      {message}
    </p>
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
