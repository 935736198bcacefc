-- 0009: "show my presence": when 0, the user's contacts never hear whether they are online
-- (and the user no longer hears theirs).
ALTER TABLE users ADD COLUMN show_presence INTEGER NOT NULL DEFAULT 1;
