-- A wiki account that signed in through the wiki's OAuth but is no helper yet: for half
-- an hour it may apply to join a queue that takes applications. Only the token's hash.
CREATE TABLE applicants (
    token_hash TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
