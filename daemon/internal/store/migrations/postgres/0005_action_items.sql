-- The action executions of one task: a with-items task runs one per item,
-- and a retry or a rerun runs them again. item_index says which item a run
-- is for, so the task's result is the list of item results in item order;
-- accepted is false for a run a later retry or rerun replaced, so its
-- result no longer counts (Mistral's action_execution.accepted).
ALTER TABLE action_executions ADD COLUMN item_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE action_executions ADD COLUMN replaced BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX action_executions_task_item ON action_executions (task_execution_id, item_index);
