-- Durable timers and cron triggers; see migrations/sqlite/0002_*.sql for the
-- reasoning, which is the same. Engines claim due timers with
-- SELECT ... FOR UPDATE SKIP LOCKED, so two engines never take the same one.
CREATE TABLE timers (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    fire_at     TIMESTAMPTZ NOT NULL,
    payload     BYTEA,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX timers_fire_at ON timers (fire_at, id);

CREATE TABLE cron_triggers (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    pattern               TEXT NOT NULL,
    workflow_name         TEXT NOT NULL,
    workflow_id           TEXT NOT NULL,
    workflow_input        TEXT,
    workflow_params       TEXT,
    first_execution_time  TIMESTAMPTZ,
    next_execution_time   TIMESTAMPTZ NOT NULL,
    remaining_executions  INTEGER,
    scope                 TEXT NOT NULL DEFAULT 'private',
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ
);
CREATE INDEX cron_triggers_created_at ON cron_triggers (created_at);
CREATE INDEX cron_triggers_workflow_id ON cron_triggers (workflow_id);
