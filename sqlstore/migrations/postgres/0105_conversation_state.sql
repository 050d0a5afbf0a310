-- name is a group chat's topic; removed is set once the bot was removed
-- from the conversation, until it is added again.
ALTER TABLE conversations ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN removed BOOLEAN NOT NULL DEFAULT false;
