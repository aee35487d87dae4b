-- Durable timers and cron triggers.
--
-- A timer is a row, never a sleeping goroutine: an engine claims the due
-- ones (oldest first), runs their handler in the claiming transaction and
-- deletes them there, so a restart loses nothing and two engines never
-- fire the same timer. key is unique so that scheduling is idempotent
-- (a cron tick's key names the trigger and the tick's time).
CREATE TABLE timers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    fire_at     TEXT NOT NULL,
    payload     BLOB,
    created_at  TEXT NOT NULL
);
CREATE INDEX timers_fire_at ON timers (fire_at, id);

-- Cron triggers with the fields of Mistral's v2 API. first_execution_time,
-- remaining_executions and updated_at are NULL when unset (Mistral shows
-- null); they are therefore not sortable.
CREATE TABLE cron_triggers (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    pattern               TEXT NOT NULL,
    workflow_name         TEXT NOT NULL,
    workflow_id           TEXT NOT NULL,
    workflow_input        TEXT,
    workflow_params       TEXT,
    first_execution_time  TEXT,
    next_execution_time   TEXT NOT NULL,
    remaining_executions  INTEGER,
    scope                 TEXT NOT NULL DEFAULT 'private',
    created_at            TEXT NOT NULL,
    updated_at            TEXT
);
CREATE INDEX cron_triggers_created_at ON cron_triggers (created_at);
CREATE INDEX cron_triggers_workflow_id ON cron_triggers (workflow_id);
