/**
 * The limits a form shows and checks, read from the generated `requestLimits` (which
 * `npm run gen:api` derives from the OpenAPI documents). A limit is said once, by the
 * server's validator: when a document gains or changes one, the form follows; when a
 * document gives none, the form checks nothing and the server's 422 says what is wrong.
 */
import { requestLimits, type FieldLimits } from './generated/limits';

type Limits = typeof requestLimits;
export type Operation = keyof Limits;
export type { FieldLimits };

/** The constraints of one request field, by operation ("POST /api/tickets") and field name. */
export function limitsOf<Op extends Operation>(op: Op, field: keyof Limits[Op] & string): FieldLimits {
  return (requestLimits[op] as Record<string, FieldLimits>)[field] ?? {};
}

/** The `minLength` / `maxLength` attributes for an input or textarea. */
export function lengthProps(limits: FieldLimits): { minLength?: number; maxLength?: number } {
  return { minLength: limits.minLength, maxLength: limits.maxLength };
}

/** "At least 8 characters.", "Up to 200 characters.", "1–200 characters.", or null. */
export function lengthHint(limits: FieldLimits): string | null {
  const n = (v: number) => v.toLocaleString('en-US');
  const { minLength: min, maxLength: max } = limits;
  if (min !== undefined && min > 1 && max !== undefined) return `${n(min)}–${n(max)} characters.`;
  if (min !== undefined && min > 1) return `At least ${n(min)} characters.`;
  if (max !== undefined) return `Up to ${n(max)} characters.`;
  return null;
}

/** What is wrong with a value by its limits (length only; the server checks the rest). */
export function lengthProblem(value: string, limits: FieldLimits): string | null {
  const length = [...value].length;
  if (limits.minLength !== undefined && length > 0 && length < limits.minLength) {
    return `Must be at least ${limits.minLength} characters.`;
  }
  if (limits.maxLength !== undefined && length > limits.maxLength) {
    return `Must be at most ${limits.maxLength.toLocaleString('en-US')} characters.`;
  }
  return null;
}
