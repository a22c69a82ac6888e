-- One search document per ticket instead of two. 0002 kept `search_public` (subject,
-- description, public comments) and `search_all` (the same plus internal notes), each with a
-- GIN index; the two were alike on three tickets in four and made up most of a row (1.6 of
-- 2 kB in tickets-bench), and every new row version (a create, a comment, any PATCH: the
-- status, priority and assignee are indexed, so no update is HOT) put each word into both
-- indexes. Now `search` holds every word once, the public ones at weight A and the internal
-- notes' at D (the default): staff match any word, a requester's search keeps only the A
-- positions (`ts_filter`), so a word only in an internal note never matches for them. The
-- index finds candidates by word alone; the weights are checked on the few rows it finds.
DROP INDEX tickets_search_public_idx;
DROP INDEX tickets_search_all_idx;
ALTER TABLE tickets DROP COLUMN search_public, DROP COLUMN search_all;
ALTER TABLE tickets ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector;

UPDATE tickets t SET
    search = setweight(to_tsvector('simple', d.public_text), 'A')
        || to_tsvector('simple', d.internal_text)
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

-- With the small pending list of 0004 and the larger statistics sample of 0003, for the
-- same reasons.
CREATE INDEX tickets_search_idx ON tickets USING GIN (search) WITH (gin_pending_list_limit = 256);
ALTER TABLE tickets ALTER COLUMN search SET STATISTICS 1000;
ANALYZE tickets;
