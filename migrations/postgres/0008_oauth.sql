-- OAuth 2.0 sign-ins in progress: the `state` (hashed) and the PKCE verifier, for ten
-- minutes and one use.
CREATE TABLE oauth_pending (
    state_hash  TEXT PRIMARY KEY,
    verifier    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
