-- Search over whole tickets, newest first, without sorting every match.
--
-- 0001 kept a tsvector on tickets (subject, description) and one on comments; a search unioned
-- both, mapped the matches to tickets and sorted them all by date, so a common word cost
-- seconds on a large help desk. Now each ticket carries two documents: `search_public`
-- (subject, description and public comments; what requesters search) and `search_all` (the
-- same plus internal notes; what agents and admins search). A filter on one column of the
-- ticket lets the planner choose per query: for rare words a GIN bitmap scan and a sort of the
-- few matches, for common words a backward walk of `tickets_created_idx` that stops after a
-- page.
--
-- The service rewrites both in the transaction of each change to a ticket's text
-- (repo::search::refresh). 'simple': no stemming, like FTS5's default tokenizer on SQLite.
DROP INDEX tickets_search_idx;
DROP INDEX comments_search_idx;
ALTER TABLE comments DROP COLUMN search;
ALTER TABLE tickets DROP COLUMN search;
ALTER TABLE tickets
    ADD COLUMN search_public tsvector NOT NULL DEFAULT ''::tsvector,
    ADD COLUMN search_all tsvector NOT NULL DEFAULT ''::tsvector;

UPDATE tickets t SET
    search_public = to_tsvector('simple', d.public_text),
    search_all = to_tsvector('simple', d.public_text || ' ' || d.internal_text)
FROM (
    SELECT t2.id,
           t2.subject || ' ' || t2.description || COALESCE(' ' || (
               SELECT string_agg(c.body, ' ' ORDER BY c.created_at, c.id) FROM comments c
               WHERE c.ticket_id = t2.id AND c.internal = 0), '') AS public_text,
           COALESCE((
               SELECT string_agg(c.body, ' ' ORDER BY c.created_at, c.id) FROM comments c
               WHERE c.ticket_id = t2.id AND c.internal = 1), '') AS internal_text
    FROM tickets t2
) d
WHERE d.id = t.id;

CREATE INDEX tickets_search_public_idx ON tickets USING GIN (search_public);
CREATE INDEX tickets_search_all_idx ON tickets USING GIN (search_all);
