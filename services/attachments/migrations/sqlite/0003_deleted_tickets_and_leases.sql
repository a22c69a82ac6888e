-- A ticket whose deletion has begun: no upload to it may be claimed or committed from then on
-- (see src/upload.rs). Ticket ids are UUIDs and never come back, so a tombstone is never wrong.
CREATE TABLE deleted_tickets (
    ticket_id TEXT PRIMARY KEY NOT NULL,
    deleted_at BIGINT NOT NULL
);

-- Named leases: one replica at a time does the work a lease names (the scheduled sweep). A
-- lease is held by `holder` until `expires_at` (unix ms); then anyone may take it.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
