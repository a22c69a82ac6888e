/**
 * What an upload may be, as the attachments service says it (GET /api/attachments/policy):
 * the size per file, the files at a time and the allowed types with their extensions. The
 * service builds that answer from the very settings and type table its upload check uses, so
 * the file input's `accept`, the hint and the messages here say what the server enforces and
 * nothing is typed twice. Until the policy has loaded (or if it cannot be), the app checks
 * nothing itself and the server's 413/415 says what is wrong.
 */
import { describeError, formatBytes, ApiError } from './problem';
import type { UploadPolicy } from './schema';

export type { UploadPolicy };

/** "JPEG, PNG, GIF, …" */
export function typeNames(policy: UploadPolicy): string {
  return policy.types.map((t) => t.name).join(', ');
}

/** The file input's `accept`: every extension (".jpg") and every media type of the policy. */
export function acceptAttribute(policy: UploadPolicy): string {
  const extensions = policy.types.flatMap((t) => t.extensions.map((e) => `.${e}`));
  const mediaTypes = policy.types.map((t) => t.media_type);
  return [...new Set([...extensions, ...mediaTypes])].join(',');
}

/** The hint under the drop zone: "JPEG, PNG, … · up to 10 MiB each · 5 files at a time". */
export function policyHint(policy: UploadPolicy): string {
  return `${typeNames(policy)} · up to ${formatBytes(policy.max_file_bytes)} each · ${policy.max_files} files at a time`;
}

function tooLarge(policy: UploadPolicy): string {
  return `File too large (limit ${formatBytes(policy.max_file_bytes)} per file).`;
}

function notAllowed(policy: UploadPolicy): string {
  return `This file type is not allowed. Allowed types: ${typeNames(policy)}.`;
}

function extensionOf(name: string): string | null {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : null;
}

/**
 * Why the server would refuse this file before a byte is sent, or null: larger than the limit,
 * or a name whose extension no allowed type has. The server still decides by the file's bytes
 * (a text file named .png passes here and is refused there).
 */
export function fileProblem(file: File, policy: UploadPolicy): string | null {
  if (file.size > policy.max_file_bytes) return tooLarge(policy);
  const extension = extensionOf(file.name);
  if (!extension || !policy.types.some((t) => t.extensions.includes(extension))) return notAllowed(policy);
  return null;
}

/** describeError, with the policy's own words for a 413 or 415 answer when it is known. */
export function describeUploadError(error: unknown, policy: UploadPolicy | undefined): string {
  if (policy && error instanceof ApiError) {
    if (error.status === 413) return tooLarge(policy);
    if (error.status === 415) return notAllowed(policy);
  }
  return describeError(error);
}
