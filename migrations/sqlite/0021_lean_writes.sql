-- A message is stored with as few B-tree changes as possible (docs/PERFORMANCE.md).
--
-- The turn (status active ⇄ awaiting_requester, which nearly every message flips) is no
-- longer in an index: open conversations are found through a partial index on
-- `closed_at IS NULL`, which only closing and reopening change.
DROP INDEX conversations_by_queue;
CREATE INDEX conversations_open ON conversations (queue, waiting_since) WHERE closed_at IS NULL;

-- Messages are stored in the order of their primary key (conversation, seq) — WITHOUT
-- ROWID: one B-tree to insert into instead of a table and its key's index. The table
-- is copied whole (a big database takes a while, once: docs/OPERATIONS.md).
CREATE TABLE messages_by_key (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    author_role     TEXT NOT NULL,
    author_id       TEXT,
    author_name     TEXT,
    internal        INTEGER NOT NULL DEFAULT 0,
    text            TEXT NOT NULL,
    masked_text     TEXT,
    client_key      TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
INSERT INTO messages_by_key (conversation_id, seq, author_role, author_id, author_name, internal,
        text, masked_text, client_key, created_at)
    SELECT conversation_id, seq, author_role, author_id, author_name, internal,
        text, masked_text, client_key, created_at
    FROM messages ORDER BY conversation_id, seq;
DROP TABLE messages;
ALTER TABLE messages_by_key RENAME TO messages;
CREATE UNIQUE INDEX messages_by_client_key ON messages (conversation_id, client_key)
    WHERE client_key IS NOT NULL;
