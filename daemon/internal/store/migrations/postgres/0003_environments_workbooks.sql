-- Environments and workbooks; see migrations/sqlite/0003_*.sql for the
-- reasoning, which is the same.
CREATE TABLE environments (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    variables    TEXT,
    scope        TEXT NOT NULL DEFAULT 'private',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ
);
CREATE INDEX environments_created_at ON environments (created_at);

CREATE TABLE workbooks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    namespace   TEXT NOT NULL DEFAULT '',
    definition  TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    scope       TEXT NOT NULL DEFAULT 'private',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ,
    UNIQUE (name, namespace)
);
CREATE INDEX workbooks_created_at ON workbooks (created_at);
