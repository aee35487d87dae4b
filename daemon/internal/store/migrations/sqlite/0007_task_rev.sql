-- rev counts the writes of a task row: every update adds one. The engine
-- keeps the decoded tasks of recently active executions in memory and
-- reads only (id, rev) to know which of them are still what the table
-- holds, so a result no longer decodes every task of its execution.
ALTER TABLE task_executions ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
