/**
 * Build-time settings. `VITE_API_BASE_URL` is read when the bundle is built (the S3 +
 * CloudFront build sets it); left empty, the app calls the origin that served it.
 */

export const API_BASE_URL: string = (import.meta.env.VITE_API_BASE_URL ?? '').replace(/\/+$/, '');
