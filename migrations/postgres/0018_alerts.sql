-- Helpers' opt-in mail alerts: 'off', 'waiting' (a request has waited longer than its
-- queue's alert_after_minutes while nobody of the queue was online) or 'digest' (one
-- summary a day). A conversation is alerted about once (alerted_at); a helper gets
-- one digest a day (digest_day: the UTC day number of the last one).
ALTER TABLE helpers ADD COLUMN mail_alerts TEXT NOT NULL DEFAULT 'off';
ALTER TABLE helpers ADD COLUMN digest_day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN alerted_at BIGINT;
