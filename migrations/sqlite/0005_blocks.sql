-- Blocks set by helpers. `value_hash` is a requester token's hash (kind `token`) or a
-- day-keyed network hash (kind `network`, which rotates: such a block ends with its day).
-- No address is stored, in clear or otherwise stable.
CREATE TABLE blocks (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    value_hash      TEXT NOT NULL,
    conversation_id TEXT,
    queue           TEXT NOT NULL,
    helper_id       TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    lifted_at       BIGINT
);
CREATE INDEX blocks_by_value ON blocks (value_hash, expires_at);
CREATE INDEX blocks_by_queue ON blocks (queue, expires_at);
