-- 0003: media. The bytes live in DIR/media/ab/cd/<sha256>, shared by identical uploads;
-- a file goes when the last row pointing at it does.
CREATE TABLE media (
  id TEXT PRIMARY KEY,                          -- UUIDv7
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,                         -- lowercase hex: the file's name and ETag
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,                   -- sniffed from the bytes, never the client's claim
  original_name TEXT NOT NULL DEFAULT '',       -- as sent, for Content-Disposition only
  visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
  created_at TEXT NOT NULL
);
CREATE INDEX media_owner ON media(owner_id, id);
CREATE INDEX media_sha ON media(sha256);

CREATE TABLE gallery_items (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  media_id TEXT NOT NULL UNIQUE REFERENCES media(id) ON DELETE CASCADE, -- once per gallery
  caption TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE INDEX gallery_owner ON gallery_items(owner_id, id);

-- avatars are readable by anyone who can see the card: looked up by media id
CREATE INDEX users_avatar ON users(avatar_media_id) WHERE avatar_media_id IS NOT NULL;
