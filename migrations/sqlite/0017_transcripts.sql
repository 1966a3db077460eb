-- Transcripts a requester asked for once their conversation ended: mailed by the
-- outbox like answers (retried while the relay is down). The address is sealed, and
-- cleared once the mail went out or was given up: it serves this one mail only.
CREATE TABLE transcripts (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    email_sealed    TEXT,
    lang            TEXT NOT NULL,
    requested_at    BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    retry_at        BIGINT NOT NULL,
    done_at         BIGINT,
    outcome         TEXT,
    PRIMARY KEY (conversation_id, number)
);
CREATE INDEX transcripts_due ON transcripts (retry_at) WHERE done_at IS NULL;
