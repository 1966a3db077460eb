-- Outbound mail for conversations on the e-mail channel. The conversation row is its
-- own outbox: messages up to `mail_seen_seq` have been looked at by the mailer, those
-- up to `mailed_seq` went out in a mail. A failed send waits until `mail_retry_at`.
ALTER TABLE conversations ADD COLUMN mail_seen_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN mailed_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN mail_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN mail_retry_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN mail_failed_at BIGINT;
CREATE INDEX conversations_mail_due ON conversations (mail_retry_at)
    WHERE channel = 'email' AND mail_seen_seq < last_seq;
