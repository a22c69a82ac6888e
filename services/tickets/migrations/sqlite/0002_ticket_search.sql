-- Search over whole tickets, newest first, without sorting every match.
--
-- 0001 indexed subjects/descriptions and comments in two FTS5 tables; a search joined both,
-- mapped the matches to tickets and sorted them all by date, so a common word cost seconds on a
-- large help desk. Now each ticket has one FTS5 row, keyed by the ticket's `seq`, with two
-- columns: `public` (subject, description and public comments) and `internal` (internal
-- notes). FTS5 walks a match in descending rowid order by itself, so "newest first, 21 rows"
-- reads about 21 index entries however common the words are. Every word must appear somewhere
-- in the ticket; requesters' searches are limited to the `public` column.
--
-- The service rewrites a ticket's row in the transaction of each change to its text
-- (repo::search::refresh); contentless_delete keeps no second copy of the text.
DROP TRIGGER tickets_fts_insert;
DROP TRIGGER tickets_fts_delete;
DROP TRIGGER tickets_fts_update;
DROP TRIGGER comments_fts_insert;
DROP TRIGGER comments_fts_delete;
DROP TRIGGER comments_fts_update;
DROP TABLE tickets_fts;
DROP TABLE comments_fts;

CREATE VIRTUAL TABLE ticket_text USING fts5 (public, internal, content = '', contentless_delete = 1);

INSERT INTO ticket_text (rowid, public, internal)
SELECT t.seq,
       t.subject || ' ' || t.description || COALESCE(' ' || (
           SELECT group_concat(c.body, ' ') FROM comments c WHERE c.ticket_id = t.id AND c.internal = 0), ''),
       COALESCE((
           SELECT group_concat(c.body, ' ') FROM comments c WHERE c.ticket_id = t.id AND c.internal = 1), '')
FROM tickets t;
