-- The engine trusts a cached task while its rev is unchanged, so every
-- write of a task row must move rev. The statements of schema 7 and later
-- do; an older server sharing this database during a rolling upgrade
-- updates rows without naming rev. This trigger bumps rev on any update
-- that leaves it as it was, and stays out of the way of one that moved it
-- (so its own UPDATE does not fire it again). SQLite has no BEFORE trigger
-- that can change NEW, hence the second statement.
CREATE TRIGGER task_executions_rev AFTER UPDATE ON task_executions
    FOR EACH ROW WHEN NEW.rev = OLD.rev
BEGIN
    UPDATE task_executions SET rev = OLD.rev + 1 WHERE id = NEW.id;
END;
