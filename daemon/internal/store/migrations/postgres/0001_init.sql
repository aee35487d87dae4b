-- Initial schema; see migrations/sqlite/0001_init.sql for the reasoning, which
-- is the same. Timestamps are timestamptz (stored as UTC). JSON documents are
-- TEXT rather than JSONB so that they round-trip byte for byte, as on SQLite.

CREATE TABLE workflow_definitions (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    namespace   TEXT NOT NULL DEFAULT '',
    definition  TEXT NOT NULL,
    spec        TEXT,
    input       TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',
    scope       TEXT NOT NULL DEFAULT 'private',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (name, namespace)
);
CREATE INDEX workflow_definitions_created_at ON workflow_definitions (created_at);

CREATE TABLE executions (
    id                 TEXT PRIMARY KEY,
    workflow_id        TEXT NOT NULL DEFAULT '',
    workflow_name      TEXT NOT NULL,
    namespace          TEXT NOT NULL DEFAULT '',
    description        TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL,
    state_info         TEXT NOT NULL DEFAULT '',
    input              TEXT,
    output             TEXT,
    params             TEXT,
    context            TEXT,
    task_execution_id  TEXT NOT NULL DEFAULT '',
    root_execution_id  TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX executions_state ON executions (state);
CREATE INDEX executions_workflow_name ON executions (workflow_name);
CREATE INDEX executions_workflow_id ON executions (workflow_id);
CREATE INDEX executions_created_at ON executions (created_at);
CREATE INDEX executions_task_execution_id ON executions (task_execution_id);
CREATE INDEX executions_root_execution_id ON executions (root_execution_id);

CREATE TABLE task_executions (
    id             TEXT PRIMARY KEY,
    execution_id   TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    workflow_name  TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL,
    state          TEXT NOT NULL,
    state_info     TEXT NOT NULL DEFAULT '',
    published      TEXT,
    result         TEXT,
    runtime        TEXT,
    processed      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX task_executions_execution_id ON task_executions (execution_id, created_at);
CREATE INDEX task_executions_state ON task_executions (state);

CREATE TABLE action_executions (
    id                 TEXT PRIMARY KEY,
    task_execution_id  TEXT REFERENCES task_executions (id) ON DELETE CASCADE,
    execution_id       TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL,
    state              TEXT NOT NULL,
    state_info         TEXT NOT NULL DEFAULT '',
    input              TEXT,
    output             TEXT,
    attempt            INTEGER NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX action_executions_task_execution_id ON action_executions (task_execution_id);
CREATE INDEX action_executions_state ON action_executions (state);
CREATE INDEX action_executions_created_at ON action_executions (created_at);

CREATE TABLE outbox (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject     TEXT NOT NULL,
    msg_id      TEXT NOT NULL,
    payload     BYTEA,
    created_at  TIMESTAMPTZ NOT NULL
);
