-- Conflicts of interest: the wiki names of helpers who must never be offered a
-- conversation nor see its text, one per line ("*" while the wiki is being asked).
ALTER TABLE conversations ADD COLUMN conflicts TEXT NOT NULL DEFAULT '';

-- The account a requester has trouble with, named by them (or by a helper on their
-- word), and how the check on the wiki went. Public wiki data only is read for it.
CREATE TABLE trouble_accounts (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    account         TEXT NOT NULL,
    named_by        TEXT NOT NULL,
    named_at        BIGINT NOT NULL,
    checked_at      BIGINT,
    check_error     TEXT
);
