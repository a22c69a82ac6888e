/**
 * A 422's `errors: [{field, message}]` (ARCHITECTURE.md), matched to the fields of a form so
 * each message is shown beside its field, tied to it with `aria-describedby` and marked with
 * `aria-invalid`. Messages for fields the form does not show stay with the form's error.
 */
import { ApiError } from './problem';

export interface FieldError {
  field: string;
  message: string;
}

/** The per-field errors a failed request carries (none unless it is a 422 that lists them). */
export function fieldErrorsOf(error: unknown): FieldError[] {
  if (!(error instanceof ApiError) || error.status !== 422) return [];
  const list = (error.problem as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => {
    if (!item || typeof item !== 'object') return [];
    const { field, message } = item as { field?: unknown; message?: unknown };
    if (typeof field !== 'string' || typeof message !== 'string' || !message.trim()) return [];
    return [{ field, message: message.trim() }];
  });
}

/** `subject`, `/subject`, `body.subject` and `$.subject` all name the form's `subject`. */
function normalize(field: string): string {
  return field
    .trim()
    .replace(/^#?\//, '')
    .replace(/^(\$|body)[./]/, '')
    .replace(/\//g, '.');
}

export interface FormErrors {
  /** The message for a field the form shows, if the server named it. */
  message(field: string): string | undefined;
  /** Props for the field's control: `aria-invalid`, and `aria-describedby` with its message id first. */
  control(field: string, ...describedBy: (string | undefined | false)[]): {
    'aria-invalid'?: true;
    'aria-describedby'?: string;
  };
  /** The id of a field's message element. */
  id(field: string): string;
  /** Errors naming fields the form does not show. */
  others: FieldError[];
  /** Whether any shown field has an error. */
  any: boolean;
}

/**
 * Matches a failed request's field errors to a form. `prefix` makes the message ids unique on
 * the page; `local` adds the form's own checks (shown the same way) for fields the server did
 * not name.
 */
export function formErrors(
  error: unknown,
  prefix: string,
  fields: readonly string[],
  local: Record<string, string | null | undefined> = {},
): FormErrors {
  const byField = new Map<string, string>();
  const others: FieldError[] = [];
  for (const e of fieldErrorsOf(error)) {
    const name = normalize(e.field);
    if (!fields.includes(name)) others.push(e);
    else byField.set(name, byField.has(name) ? `${byField.get(name)} ${e.message}` : e.message);
  }
  for (const [field, message] of Object.entries(local)) {
    if (message && !byField.has(field)) byField.set(field, message);
  }
  const id = (field: string) => `${prefix}-${field}-error`;
  return {
    message: (field) => byField.get(field),
    id,
    control: (field, ...describedBy) => {
      const invalid = byField.has(field);
      const ids = [invalid ? id(field) : undefined, ...describedBy].filter((v): v is string => Boolean(v));
      return {
        ...(invalid ? { 'aria-invalid': true as const } : {}),
        ...(ids.length ? { 'aria-describedby': ids.join(' ') } : {}),
      };
    },
    others,
    any: byField.size > 0,
  };
}
