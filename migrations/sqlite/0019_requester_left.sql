-- When the requester's last live socket of a waiting chat closed (NULL while one is open
-- or after they came back). A chat nobody answered, whose requester left an address and
-- stayed away, becomes an e-mail conversation: the answer reaches them by mail.
ALTER TABLE conversations ADD COLUMN requester_left_at BIGINT;
CREATE INDEX conversations_requester_left ON conversations (requester_left_at)
    WHERE requester_left_at IS NOT NULL;
