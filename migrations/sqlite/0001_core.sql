-- Core schema: helpers, conversations, messages, audit events.
-- Times are Unix milliseconds (BIGINT) so that both backends agree exactly.

CREATE TABLE helpers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    languages   TEXT NOT NULL DEFAULT '',
    away        INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE helper_queues (
    helper_id   TEXT NOT NULL REFERENCES helpers(id) ON DELETE CASCADE,
    queue       TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'helper',
    PRIMARY KEY (helper_id, queue)
);

CREATE TABLE helper_tokens (
    token_hash  TEXT PRIMARY KEY,
    helper_id   TEXT NOT NULL REFERENCES helpers(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL,
    site            TEXT NOT NULL,
    queue           TEXT NOT NULL,
    lang            TEXT NOT NULL,
    topic           TEXT NOT NULL,
    channel         TEXT NOT NULL,
    username        TEXT,
    username_temporary INTEGER NOT NULL DEFAULT 0,
    email_sealed    TEXT,
    status          TEXT NOT NULL,
    outcome         TEXT,
    urgent          INTEGER NOT NULL DEFAULT 0,
    owner_id        TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    last_owner_id   TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    redirected_team TEXT,
    preview         TEXT NOT NULL,
    network_hash    TEXT,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    requester_read_seq BIGINT NOT NULL DEFAULT 0,
    helper_read_seq BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    waiting_since   BIGINT NOT NULL,
    first_reply_at  BIGINT,
    closed_at       BIGINT,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX conversations_by_queue ON conversations (queue, status, urgent, waiting_since);
CREATE INDEX conversations_by_owner ON conversations (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX conversations_closed ON conversations (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX conversations_by_site_created ON conversations (site, created_at);
CREATE INDEX conversations_by_queue_created ON conversations (queue, created_at);

CREATE TABLE messages (
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
);
CREATE UNIQUE INDEX messages_by_client_key ON messages (conversation_id, client_key)
    WHERE client_key IS NOT NULL;

CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    at              BIGINT NOT NULL,
    actor_role      TEXT NOT NULL,
    actor_id        TEXT,
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_conversation ON events (conversation_id, id);

-- Aggregates kept after conversations are purged.
CREATE TABLE daily_stats (
    day         TEXT NOT NULL,
    site        TEXT NOT NULL,
    queue       TEXT NOT NULL,
    lang        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    conversations BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, site, queue, lang, outcome)
);
