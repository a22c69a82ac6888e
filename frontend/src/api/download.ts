/**
 * Attachment downloads. The download URL needs the bearer token, so a plain link will not
 * do: fetch it through the session (which follows a 302 to a presigned S3 URL; the browser
 * drops the Authorization header on that cross-origin hop), then save the blob.
 */
import type { Api } from './client';
import { unwrap } from './client';
import type { Attachment } from './schema';

export async function downloadAttachment(api: Api, attachment: Attachment): Promise<void> {
  const blob = unwrap(
    await api.client.GET('/api/attachments/{id}/download', {
      params: { path: { id: attachment.id } },
      parseAs: 'blob',
    }),
  ) as Blob;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = attachment.filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser time to start the save before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
