-- A message is stored with as few index changes as possible (docs/PERFORMANCE.md).
--
-- The turn (status active ⇄ awaiting_requester, which nearly every message flips) is no
-- longer in an index: open conversations are found through a partial index on
-- `closed_at IS NULL`, which only closing and reopening change. With no indexed column
-- changed, PostgreSQL updates the conversation row in place (a HOT update) where its page
-- has room, which the fill factor keeps.
DROP INDEX conversations_by_queue;
CREATE INDEX conversations_open ON conversations (queue, waiting_since) WHERE closed_at IS NULL;
ALTER TABLE conversations SET (fillfactor = 85);
