-- A message is stored with as few index changes as possible (docs/PERFORMANCE.md).
--
-- The turn (status active ⇄ awaiting_requester, which nearly every message flips) is no
-- longer in an index: open conversations are found through a partial index on
-- `closed_at IS NULL`, which only closing and reopening change.
DROP INDEX conversations_by_queue;
CREATE INDEX conversations_open ON conversations (queue, waiting_since) WHERE closed_at IS NULL;
