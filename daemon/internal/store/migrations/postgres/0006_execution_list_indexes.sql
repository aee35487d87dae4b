-- Listing the newest executions of one workflow (the API's
-- workflow_name filter sorted by created_at) used the workflow_name index
-- and sorted every execution of the workflow: with a million finished
-- executions SQLite took 20 s (PostgreSQL 5 ms, but the same plan) for a page of 100. One index serves the
-- filter and the order.
CREATE INDEX executions_workflow_name_created_at ON executions (workflow_name, created_at);
CREATE INDEX executions_state_created_at ON executions (state, created_at);
