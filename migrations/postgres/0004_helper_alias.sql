-- A helper may be shown to requesters by a team alias ("#12") instead of their wiki
-- name, so that helping a harassed person does not make the helper a target. The number
-- is kept when they switch back, so the alias stays the same; the audit trail always
-- names the real helper.
ALTER TABLE helpers ADD COLUMN alias_number INTEGER;
ALTER TABLE helpers ADD COLUMN use_alias INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX helpers_alias_number ON helpers (alias_number) WHERE alias_number IS NOT NULL;
