-- Eligibility (a queue's `eligibility` rules, read on its wiki). A member who no longer
-- meets them keeps the membership and role but is suspended from the queue, with the
-- reason, until they meet them again: `suspended` is that reason, NULL when not.
ALTER TABLE helper_queues ADD COLUMN suspended TEXT;
ALTER TABLE helper_queues ADD COLUMN checked_at BIGINT;

-- Applications to join a queue whose rules take a coordinator's approval: the wiki
-- account, its statement, and the decision with its reason, kept as the audit trail.
CREATE TABLE queue_applications (
    id          TEXT PRIMARY KEY,
    queue       TEXT NOT NULL,
    name        TEXT NOT NULL,
    statement   TEXT NOT NULL,
    status      TEXT NOT NULL,
    decided_by  TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    reason      TEXT,
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT
);
CREATE INDEX queue_applications_by_queue ON queue_applications (queue, status, created_at);
CREATE INDEX queue_applications_by_name ON queue_applications (name, queue);
