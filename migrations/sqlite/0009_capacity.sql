-- How many open conversations a helper takes at once ("Take the next request" stops
-- offering more beyond it).
ALTER TABLE helpers ADD COLUMN capacity INTEGER NOT NULL DEFAULT 5;
