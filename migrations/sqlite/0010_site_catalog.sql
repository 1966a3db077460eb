-- Coordinators' changes to a site's canned replies and other teams, made in the console.
-- The configuration file gives each site's starting set; a row here replaces the entry
-- of the same id (and language), adds a new one, or, with removed = 1, hides it. The
-- row says who changed it last and when.
CREATE TABLE canned_reply_edits (
    site        TEXT NOT NULL,
    reply_id    TEXT NOT NULL,
    lang        TEXT NOT NULL,
    title       TEXT NOT NULL,
    text        TEXT NOT NULL,
    link        TEXT,
    removed     INTEGER NOT NULL DEFAULT 0,
    updated_by  TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (site, reply_id, lang)
);
CREATE TABLE other_team_edits (
    site        TEXT NOT NULL,
    team_id     TEXT NOT NULL,
    label       TEXT NOT NULL,
    description TEXT NOT NULL,
    link        TEXT,
    email       TEXT,
    removed     INTEGER NOT NULL DEFAULT 0,
    updated_by  TEXT REFERENCES helpers(id) ON DELETE SET NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (site, team_id)
);
