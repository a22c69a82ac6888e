-- FTS5 merges the search index's small segments inside whichever commit is due (automerge),
-- so every write waiting for that commit waits for the merge too: the longest creates in
-- tickets-bench were whole groups of commits that carried one. The service now merges in the
-- writer's idle time instead (repo::search::SQLITE_IDLE_MERGE); FTS5 still merges a level
-- inside a commit once it holds 16 segments (crisismerge), if writes never pause.
--
-- Numbered 0005: a different 0003 lived here during the fifth session's work and was removed
-- before it was released; a database made by that work still records it.
INSERT INTO ticket_text (ticket_text, rank) VALUES ('automerge', 0);
