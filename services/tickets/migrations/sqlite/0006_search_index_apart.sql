-- The search index moves to a database file of its own beside this one (`tickets.db-search`
-- beside `tickets.db`), kept by a writer of its own: see repo::search_index. In this file
-- FTS5 merged the index's segments inside the commits of every writer, and under writes that
-- never paused a create stalled for 90–190 ms behind a merge (services/tickets/BENCH.md,
-- twelfth and thirteenth sessions). Each change to a ticket's text now queues the ticket's
-- `seq` here, in the change's own transaction; the index applies the queue in order and
-- records how far it got.
DROP TABLE ticket_text;

-- AUTOINCREMENT: a position is never handed out twice, even once the queue is emptied.
CREATE TABLE search_queue (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_seq INTEGER NOT NULL
);

-- Which database an index file was built from: a file left from another database (this one
-- deleted and made anew) is rebuilt instead of trusted.
CREATE TABLE search_origin (id TEXT NOT NULL);
INSERT INTO search_origin (id) VALUES (lower(hex(randomblob(16))));

-- The highest `seq` a deleted ticket had. New tickets are numbered above it: SQLite would
-- otherwise give the newest ticket's `seq` again once that ticket is deleted, and until the
-- index caught up, the new ticket would be found by the deleted one's words.
CREATE TABLE ticket_seq_floor (seq INTEGER NOT NULL);
INSERT INTO ticket_seq_floor (seq) VALUES (0);

