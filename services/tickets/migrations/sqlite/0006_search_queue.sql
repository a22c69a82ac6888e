-- The tickets whose search documents a commit must rewrite, noted by its transactions and
-- rewritten all at once at its end (repo::search::sqlite_before_commit), then cleared: it
-- is empty outside a commit.
CREATE TABLE ticket_text_queue (seq INTEGER PRIMARY KEY);
