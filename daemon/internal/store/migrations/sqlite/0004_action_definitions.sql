-- Ad-hoc action definitions (Mistral's POST /v2/actions): an existing
-- action called with preset input and a reshaped output. definition is the
-- whole YAML document as the user sent it (GET answers it verbatim); spec
-- is the parsed form of this one action, so the engine never re-parses YAML
-- when it runs one.
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
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (name, namespace)
);
CREATE INDEX action_definitions_created_at ON action_definitions (created_at);

-- An action run through POST /v2/action_executions keeps the description
-- its caller gave, as Mistral does.
ALTER TABLE action_executions ADD COLUMN description TEXT NOT NULL DEFAULT '';
-- A run of an ad-hoc action keeps the chain of ad-hoc actions it expanded
-- (JSON; NULL for any other action): their outputs reshape its result
-- when it comes back, whatever happened to the definitions meanwhile.
ALTER TABLE action_executions ADD COLUMN spec TEXT;
