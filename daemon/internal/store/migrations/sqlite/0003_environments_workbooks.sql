-- Environments and workbooks, with the fields of Mistral's v2 API.
--
-- An environment is named, not namespaced, as in Mistral; its variables
-- are a JSON object kept byte for byte (NULL when none were given).
-- updated_at is NULL until the first update, as Mistral shows it, and is
-- therefore not sortable (marker pagination compares with the marker
-- row's values, which NULL would break).
CREATE TABLE environments (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    variables    TEXT,
    scope        TEXT NOT NULL DEFAULT 'private',
    created_at   TEXT NOT NULL,
    updated_at   TEXT
);
CREATE INDEX environments_created_at ON environments (created_at);

-- A workbook keeps the document the user sent. The workflows it defines
-- are ordinary rows of workflow_definitions named "<workbook>.<workflow>",
-- created or replaced when the workbook is; as in Mistral, deleting the
-- workbook leaves them.
CREATE TABLE workbooks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    namespace   TEXT NOT NULL DEFAULT '',
    definition  TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    scope       TEXT NOT NULL DEFAULT 'private',
    created_at  TEXT NOT NULL,
    updated_at  TEXT,
    UNIQUE (name, namespace)
);
CREATE INDEX workbooks_created_at ON workbooks (created_at);
