-- The engine trusts a cached task while its rev is unchanged, so every
-- write of a task row must move rev. The statements of schema 7 and later
-- do; an older server sharing this database during a rolling upgrade
-- updates rows without naming rev. This trigger bumps rev on any update
-- that leaves it as it was, and stays out of the way of one that moved it.
CREATE FUNCTION task_executions_bump_rev() RETURNS trigger AS $$
BEGIN
    IF NEW.rev = OLD.rev THEN
        NEW.rev := OLD.rev + 1;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER task_executions_rev BEFORE UPDATE ON task_executions
    FOR EACH ROW EXECUTE FUNCTION task_executions_bump_rev();
