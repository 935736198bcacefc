-- 0004: LLM chat. A chat belongs to one user; its messages are stored as they happen: the
-- user's before the model is called, the assistant's when the stream ends (incomplete when
-- it was cut short).
CREATE TABLE chats (
  id TEXT PRIMARY KEY,                           -- UUIDv7
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title TEXT NOT NULL DEFAULT '',                -- '' until the first exchange names it
  model TEXT,                                    -- NULL: the server's LLM_MODEL
  system_prompt TEXT,
  archived_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX chats_owner ON chats(owner_id, id);

CREATE TABLE chat_messages (
  id TEXT PRIMARY KEY,                           -- UUIDv7: creation order within a chat
  chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, -- for the daily quota
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  content TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'complete' CHECK (status IN ('complete', 'incomplete')),
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX chat_messages_chat ON chat_messages(chat_id, id);
CREATE INDEX chat_messages_quota ON chat_messages(owner_id, role, created_at);
