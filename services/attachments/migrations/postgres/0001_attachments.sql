-- Attachment metadata. The bytes live in the storage backend under storage_key.
-- state: 'pending' (row written, bytes being stored), 'ready' (visible),
-- 'deleting' (hidden, bytes being removed). See src/upload.rs for the protocol.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'deleting')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX attachments_storage_key_key ON attachments (storage_key);
CREATE INDEX attachments_ticket_idx ON attachments (ticket_id, created_at, id);
CREATE INDEX attachments_state_idx ON attachments (state, updated_at);
