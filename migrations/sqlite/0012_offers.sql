-- Auto-offer (routing.auto_offer): a waiting conversation offered to one available
-- helper at a time, the least loaded. An offer ends accepted, declined, expired (no
-- answer in routing.offer_seconds, or the helper went away) or taken (someone claimed
-- the conversation). A helper is not offered the same conversation twice.
CREATE TABLE offers (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    helper_id       TEXT NOT NULL REFERENCES helpers(id) ON DELETE CASCADE,
    offered_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    outcome         TEXT,
    PRIMARY KEY (conversation_id, helper_id)
);
-- One open offer per conversation, even with several servers offering.
CREATE UNIQUE INDEX offers_open ON offers (conversation_id) WHERE outcome IS NULL;
CREATE INDEX offers_open_by_helper ON offers (helper_id) WHERE outcome IS NULL;
