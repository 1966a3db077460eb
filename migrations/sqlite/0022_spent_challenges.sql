-- Proofs of work already used for a new request: each solution is good once. Kept
-- until the challenge expires (then it is refused as expired anyway).
CREATE TABLE spent_challenges (
    challenge TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX spent_challenges_by_expiry ON spent_challenges (expires_at);
