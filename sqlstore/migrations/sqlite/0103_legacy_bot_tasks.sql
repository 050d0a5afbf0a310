-- River runs every durable job now, the bot's too. The bot's own task
-- table is renamed; the engine moves whatever it still holds into River
-- (through River's insert API, in one transaction with the deletion here)
-- when it starts, so no pending welcome, roster fetch or follow-up is lost.
DROP INDEX bot_tasks_due;
ALTER TABLE bot_tasks RENAME TO legacy_bot_tasks;
