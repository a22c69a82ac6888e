-- Tickets, comments and events. `seq` is SQLite's rowid made explicit so that the FTS5
-- external-content tables keep pointing at the right rows after a VACUUM; the API never
-- sees it and uses `id`.
CREATE TABLE tickets (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'waiting', 'resolved', 'closed')),
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    requester_id TEXT NOT NULL,
    assignee_id TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Newest-first keyset paging, alone and under each filter.
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_status_idx ON tickets (status, created_at, id);
CREATE INDEX tickets_priority_idx ON tickets (priority, created_at, id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, created_at, id);
CREATE INDEX tickets_requester_idx ON tickets (requester_id, created_at, id);

CREATE TABLE comments (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX comments_ticket_idx ON comments (ticket_id, created_at, id);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    actor_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    -- 1 for events about internal notes: hidden from requesters like the note itself.
    internal INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_ticket_idx ON events (ticket_id, created_at, id);

-- Full-text search: external-content FTS5 tables kept in step by triggers, so a write and its
-- index entry commit together.
CREATE VIRTUAL TABLE tickets_fts USING fts5 (subject, description, content = 'tickets', content_rowid = 'seq');
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, subject, description) VALUES (new.seq, new.subject, new.description);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description) VALUES ('delete', old.seq, old.subject, old.description);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, description ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description) VALUES ('delete', old.seq, old.subject, old.description);
    INSERT INTO tickets_fts (rowid, subject, description) VALUES (new.seq, new.subject, new.description);
END;

CREATE VIRTUAL TABLE comments_fts USING fts5 (body, content = 'comments', content_rowid = 'seq');
CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comments_fts (rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.seq, old.body);
END;
CREATE TRIGGER comments_fts_update AFTER UPDATE OF body ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.seq, old.body);
    INSERT INTO comments_fts (rowid, body) VALUES (new.seq, new.body);
END;
