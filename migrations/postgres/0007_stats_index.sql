-- Statistics read every conversation of a period; with this index they read the index
-- alone, not the rows (and not the request texts in them).
CREATE INDEX conversations_stats ON conversations (queue, created_at, lang, outcome, first_reply_at);
