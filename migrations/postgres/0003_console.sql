-- The helper console: one-time sign-in links and browser sessions. Only hashes of the
-- secrets are stored, as for API tokens.
CREATE TABLE magic_links (
    token_hash  TEXT PRIMARY KEY,
    helper_id   TEXT NOT NULL REFERENCES helpers(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX magic_links_by_helper ON magic_links (helper_id);

CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,
    helper_id   TEXT NOT NULL REFERENCES helpers(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_helper ON console_sessions (helper_id);
