-- An optional thank-you and 1-5 rating a requester may leave once a conversation is
-- closed. The text is stored with personal data masked; it goes with the conversation.
CREATE TABLE thanks (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    helper_id       TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    queue           TEXT NOT NULL,
    rating          INTEGER,
    text            TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX thanks_by_helper ON thanks (helper_id, created_at);
CREATE INDEX thanks_by_queue ON thanks (queue, created_at);
