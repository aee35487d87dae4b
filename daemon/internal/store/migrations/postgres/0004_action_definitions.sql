-- Ad-hoc action definitions; see migrations/sqlite/0004_action_definitions.sql.
CREATE TABLE action_definitions (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    namespace    TEXT NOT NULL DEFAULT '',
    definition   TEXT NOT NULL,
    spec         TEXT,
    description  TEXT NOT NULL DEFAULT '',
    input        TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '[]',
    scope        TEXT NOT NULL DEFAULT 'private',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (name, namespace)
);
CREATE INDEX action_definitions_created_at ON action_definitions (created_at);

ALTER TABLE action_executions ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE action_executions ADD COLUMN spec TEXT;
