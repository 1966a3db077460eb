-- "Confirm it's you": the wiki account a requester proved through the wiki's OAuth 2.0
-- (a claim from the widget is never proof), and the sign-ins under way.
CREATE TABLE verified_names (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    verified_at     BIGINT NOT NULL
);
CREATE TABLE requester_oauth_pending (
    state_hash      TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    verifier        TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- The move to the requester's talk page: drafted by the owner, shown to the requester
-- word for word, posted by the site's bot only once they accept.
-- status: proposed | declined | posting (accepted, being written) | posted | failed
CREATE TABLE talk_page_moves (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    helper_id       TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    page            TEXT NOT NULL,
    section_title   TEXT NOT NULL,
    wikitext        TEXT NOT NULL,
    status          TEXT NOT NULL,
    url             TEXT,
    error           TEXT,
    proposed_at     BIGINT NOT NULL,
    answered_at     BIGINT
);
