/**
 * Names for the generated OpenAPI types, so the rest of the app imports `Ticket` rather than
 * `components['schemas']['Ticket']`. Nothing here is written by hand beyond these aliases:
 * every shape comes from src/api/generated, which `npm run gen:api` derives from openapi/*.json.
 */
import type { components as AuthComponents, paths as AuthPaths } from './generated/auth';
import type { components as TicketComponents, paths as TicketPaths } from './generated/tickets';
import type {
  components as AttachmentComponents,
  paths as AttachmentPaths,
} from './generated/attachments';
import type {
  components as NotificationComponents,
  paths as NotificationPaths,
} from './generated/notifications';

type AuthSchemas = AuthComponents['schemas'];
type TicketSchemas = TicketComponents['schemas'];
type AttachmentSchemas = AttachmentComponents['schemas'];
type NotificationSchemas = NotificationComponents['schemas'];

/** Every public path of the four services, as served by the gateway. */
export type paths = AuthPaths & TicketPaths & AttachmentPaths & NotificationPaths;

export type User = AuthSchemas['User'];
export type Role = User['role'];
export type AuthResponse = AuthSchemas['AuthResponse'];
export type UserPatch = AuthSchemas['UserPatch'];
export type Problem = AuthSchemas['Problem'];
/** An active agent or admin, as GET /api/agents lists them for assigning tickets. */
export type Assignee = AuthSchemas['Assignee'];

export type Ticket = TicketSchemas['Ticket'];
export type TicketStatus = Ticket['status'];
export type Priority = Ticket['priority'];
/** Request bodies are named by their path, not their schema, which services may name freely. */
type JsonBody<Op> = Op extends { requestBody?: { content: infer C } } ? C[keyof C] : never;
export type NewTicket = JsonBody<TicketPaths['/api/tickets']['post']>;
export type TicketPatch = JsonBody<TicketPaths['/api/tickets/{id}']['patch']>;
export type Comment = TicketSchemas['Comment'];
export type TicketEvent = TicketSchemas['Event'];

export type Attachment = AttachmentSchemas['Attachment'];
/** What uploads accept, from GET /api/attachments/policy (see src/api/uploadPolicy.ts). */
export type UploadPolicy = AttachmentSchemas['UploadPolicy'];

/** The query parameters GET /api/tickets accepts. */
export type TicketQuery = NonNullable<TicketPaths['/api/tickets']['get']['parameters']['query']>;

/** One kind of mail and whether the signed-in user gets it (Profile). */
export type NotificationPreference = NotificationSchemas['Preference'];
/** A mail sent (or waiting, or dead-lettered) about a ticket, as staff see it. */
export type Notification = NotificationSchemas['Notification'];
