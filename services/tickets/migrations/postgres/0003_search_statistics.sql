-- Whether a search walks tickets newest first and filters (common words) or reads the GIN
-- index and sorts the matches (rare words) is the planner's choice, made from the lexeme
-- frequencies ANALYZE samples. With the default statistics target a rare word was estimated
-- at 0.5 % of a million tickets, so the planner chose the walk and read tens of thousands of
-- rows per page (48 ms of CPU a search in tickets-bench). A larger sample knows ten times as
-- many lexemes, and a word it does not know is estimated below the rarest one it does.
ALTER TABLE tickets
    ALTER COLUMN search_public SET STATISTICS 1000,
    ALTER COLUMN search_all SET STATISTICS 1000;
ANALYZE tickets;
