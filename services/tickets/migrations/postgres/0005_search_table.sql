-- The search documents move from the ticket's row to a table of their own.
--
-- On the ticket's row (0002), every change to the ticket wrote a new version of the row
-- carrying both tsvectors, and since status, priority and assignee are indexed, the new
-- version got an entry in every index: a PATCH of the priority added each of the ticket's
-- words to both GIN indexes again, and a comment added a row to each of the five B-trees.
-- Here a PATCH of status, priority or assignee touches no search index, and a comment
-- rewrites only the narrow document row (its words, and one B-tree entry).
--
-- A search joins on the key: the planner still chooses between the GIN indexes (rare words)
-- and a walk of `tickets_created_idx` that probes each ticket's document (common words).
-- The indexes keep their names, their pending-list limit (0004) and their statistics (0003).
CREATE TABLE ticket_search (
    ticket_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    search_public tsvector NOT NULL,
    search_all tsvector NOT NULL
);
INSERT INTO ticket_search (ticket_id, search_public, search_all)
    SELECT id, search_public, search_all FROM tickets;

DROP INDEX tickets_search_public_idx;
DROP INDEX tickets_search_all_idx;
ALTER TABLE tickets DROP COLUMN search_public, DROP COLUMN search_all;

CREATE INDEX tickets_search_public_idx ON ticket_search USING GIN (search_public)
    WITH (gin_pending_list_limit = 256);
CREATE INDEX tickets_search_all_idx ON ticket_search USING GIN (search_all)
    WITH (gin_pending_list_limit = 256);
ALTER TABLE ticket_search
    ALTER COLUMN search_public SET STATISTICS 1000,
    ALTER COLUMN search_all SET STATISTICS 1000;
ANALYZE ticket_search;
