-- A helper's e-mail address, for sign-in links by mail. Sealed like requesters'
-- addresses; found by a keyed hash of the lower-cased address, never by the address.
ALTER TABLE helpers ADD COLUMN email_sealed TEXT;
ALTER TABLE helpers ADD COLUMN email_lookup TEXT;
CREATE UNIQUE INDEX helpers_by_email ON helpers (email_lookup);
