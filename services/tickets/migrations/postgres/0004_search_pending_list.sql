-- A GIN index with fastupdate (the default) puts the words of each new or updated ticket in a
-- pending list and merges them into the index later, in bulk; every search meanwhile reads
-- the whole list, unordered. The default limit is 4 MB, 512 pages per index, reached between
-- two vacuums by a few hundred writes: tickets-bench measured a rare-word search at 3.2 ms
-- in the index with 199 pending pages and 0.14 ms without. A 256 kB list (32 pages) bounds
-- that, and the merges it triggers during writes are smaller and more frequent.
ALTER INDEX tickets_search_public_idx SET (gin_pending_list_limit = 256);
ALTER INDEX tickets_search_all_idx SET (gin_pending_list_limit = 256);
