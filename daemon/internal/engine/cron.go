package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Cron triggers run as Mistral's do (mistral/services/triggers.py and
// periodic.py): the trigger's next_execution_time is the next tick; at each
// tick one execution starts and the next tick is the pattern's first time
// after max(now, this tick), so ticks missed while no engine ran collapse
// into one; remaining_executions counts down and the trigger is deleted
// after its last run. Sirocco differs in how a tick is taken: each tick is
// a durable timer (key cron/<trigger id>/<unix time>), and the transaction
// that claims it also starts the execution and schedules the next tick, so
// a tick fires exactly once however many engines run.

var _ api.CronTriggers = (*Engine)(nil)

// cronParser reads the 5-field patterns Mistral takes (croniter), plus the
// @hourly-style descriptors croniter also knows.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// neverPattern is what Mistral stores as the pattern of a trigger created
// with only a first_execution_time (February 30th never comes).
const neverPattern = "0 0 30 2 0"

// minFirstTimeLead is how far ahead first_execution_time must be, as in
// Mistral.
const minFirstTimeLead = time.Minute

// parsePattern checks a pattern and returns its schedule.
func parsePattern(p string) (cron.Schedule, error) {
	if f := strings.Fields(p); len(f) > 0 && (f[0] == "@every" || strings.HasPrefix(f[0], "TZ=") || strings.HasPrefix(f[0], "CRON_TZ=")) {
		return nil, badf("pattern: the specified pattern is not valid: %s: time zones and @every are not cron syntax; patterns are 5 fields in UTC", p)
	}
	s, err := cronParser.Parse(p)
	if err != nil {
		return nil, badf("pattern: the specified pattern is not valid: %s: %v", p, err)
	}
	return s, nil
}

// cronTimerKey names the timer of one tick of one trigger: unique, so that
// scheduling a tick twice is a no-op.
func cronTimerKey(triggerID string, at time.Time) string {
	return fmt.Sprintf("cron/%s/%d", triggerID, at.Unix())
}

func cronTimer(c *store.CronTrigger) *store.Timer {
	return &store.Timer{Key: cronTimerKey(c.ID, c.NextExecutionTime), Kind: timerKindCron, Ref: c.ID, FireAt: c.NextExecutionTime}
}

// CreateCronTrigger validates r as Mistral does and stores the trigger
// together with the timer of its first tick.
func (e *Engine) CreateCronTrigger(ctx context.Context, r api.CronTriggerRequest) (*store.CronTrigger, error) {
	if r.Name == "" {
		return nil, badf("name is required")
	}
	now := e.clock()
	count := r.RemainingExecutions
	if count != nil && *count < 1 {
		return nil, badf("remaining_executions: %d should be greater or equal to 1", *count)
	}
	var first time.Time
	if r.FirstExecutionTime != nil {
		first = r.FirstExecutionTime.UTC()
	}
	if first.IsZero() && r.Pattern == "" {
		return nil, badf("pattern or first_execution_time must be specified")
	}
	if !first.IsZero() {
		if first.Before(now.Add(minFirstTimeLead)) {
			return nil, badf("first_execution_time must be at least 1 minute in the future (it is %s UTC, now is %s UTC)",
				first.Format(api.TimeFormat), now.Format(api.TimeFormat))
		}
		if r.Pattern == "" && count != nil && *count > 1 {
			return nil, badf("pattern must be provided if remaining_executions is greater than 1")
		}
	}
	var next time.Time
	pattern := r.Pattern
	if pattern != "" {
		sched, err := parsePattern(pattern)
		if err != nil {
			return nil, err
		}
		if first.IsZero() {
			if next = sched.Next(now); next.IsZero() {
				return nil, badf("pattern: %s never matches a date", pattern)
			}
		}
	}
	if !first.IsZero() {
		next = first
		if pattern == "" {
			pattern = neverPattern
			if count == nil {
				one := 1
				count = &one
			}
		}
	}
	input, err := normalizeObject(r.WorkflowInput)
	if err != nil {
		return nil, badf("workflow_input: %v", err)
	}
	params, err := normalizeObject(r.WorkflowParams)
	if err != nil {
		return nil, badf("workflow_params: %v", err)
	}
	inJSON, err := json.Marshal(input)
	if err != nil {
		return nil, badf("workflow_input: %v", err)
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return nil, badf("workflow_params: %v", err)
	}
	c := &store.CronTrigger{
		Name: r.Name, Pattern: pattern, WorkflowInput: inJSON, WorkflowParams: paramsJSON,
		FirstExecutionTime: first, NextExecutionTime: next, RemainingExecutions: count,
		Scope: "private", CreatedAt: time.Now().UTC(),
	}
	field, ident := "workflow_name", r.WorkflowName
	if ident == "" {
		field, ident = "workflow_id", r.WorkflowID
	}
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		def, err := tx.GetWorkflowDef(ident)
		if errors.Is(err, store.ErrNotFound) {
			return badf("%s: workflow %q not found", field, ident)
		}
		if err != nil {
			return err
		}
		spec := &lang.Workflow{}
		if err := json.Unmarshal(def.Spec, spec); err != nil {
			return fmt.Errorf("workflow %q: stored spec: %w", def.Name, err)
		}
		if _, err := checkInput(spec, input); err != nil {
			return badf("workflow_input: %v", err)
		}
		// What every tick would refuse is refused now, not once a minute.
		if err := e.checkActions(tx, spec); err != nil {
			return badf("%s: %v", field, err)
		}
		c.WorkflowName, c.WorkflowID = def.Name, def.ID
		if err := tx.CreateCronTrigger(c); err != nil {
			return err
		}
		return tx.AddTimer(cronTimer(c))
	})
	if err != nil {
		return nil, err
	}
	e.timerAdded(c.NextExecutionTime)
	return c, nil
}

// GetCronTrigger reads a trigger by name or id.
func (e *Engine) GetCronTrigger(ctx context.Context, identifier string) (*store.CronTrigger, error) {
	return read(ctx, e.store, func(tx store.Tx) (*store.CronTrigger, error) { return tx.GetCronTrigger(identifier, false) })
}

// ListCronTriggers lists triggers.
func (e *Engine) ListCronTriggers(ctx context.Context, o store.ListOpts) ([]*store.CronTrigger, error) {
	return read(ctx, e.store, func(tx store.Tx) ([]*store.CronTrigger, error) { return tx.ListCronTriggers(o) })
}

// DeleteCronTrigger deletes a trigger and the timer of its next tick. The
// row lock makes it wait for a tick being fired, so it deletes the timer
// that tick scheduled, not the one it consumed.
func (e *Engine) DeleteCronTrigger(ctx context.Context, identifier string) error {
	return e.store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.GetCronTrigger(identifier, true)
		if err != nil {
			return err
		}
		if err := tx.DeleteTimerByKey(cronTimerKey(c.ID, c.NextExecutionTime)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.DeleteCronTrigger(c.ID)
	})
}

// fireCronTick is the handler of cron timers: it starts the trigger's
// workflow and advances the trigger, in the transaction that claimed t.
func (e *Engine) fireCronTick(f *firing, tx store.Tx, t *store.Timer) error {
	c, err := tx.GetCronTrigger(t.Ref, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since; the timer goes with it
	}
	if err != nil {
		return err
	}
	if !c.NextExecutionTime.Equal(t.FireAt) {
		// A tick the trigger has moved past (it cannot happen through
		// the API; a hand-edited row could do it).
		e.log.Warn("stale cron timer dropped", "trigger", c.Name, "timer", t.Key, "next_execution_time", c.NextExecutionTime)
		return nil
	}
	var input, params map[string]any
	if input, err = objectFromJSON(c.WorkflowInput); err != nil {
		return fmt.Errorf("cron trigger %q: workflow_input: %w", c.Name, err)
	}
	if params, err = objectFromJSON(c.WorkflowParams); err != nil {
		return fmt.Errorf("cron trigger %q: workflow_params: %w", c.Name, err)
	}
	ex, spec, err := e.startExecution(tx, api.StartRequest{
		ID: uuid.NewString(), WorkflowName: c.WorkflowID, Description: cronDescription(c),
		Input: input, Params: params,
	})
	var br interface{ BadRequest() bool }
	switch {
	case err == nil:
		e.log.Info("cron trigger started an execution", "trigger", c.Name, "tick", t.FireAt, "execution_id", ex.ID)
		f.AfterCommit(func() {
			if ex.State == store.StateRunning {
				e.cacheSpec(ex.ID, spec)
			}
			e.metrics.ExecutionsStarted.Inc()
		})
	case errors.Is(err, store.ErrNotFound) || errors.As(err, &br) && br.BadRequest():
		// The workflow was deleted or changed since the trigger was made.
		// Mistral logs this and still advances the trigger; so do we.
		e.log.Error("cron trigger could not start its workflow", "trigger", c.Name, "workflow", c.WorkflowName, "error", err)
	default:
		return err
	}
	if c.RemainingExecutions != nil && *c.RemainingExecutions > 0 {
		n := *c.RemainingExecutions - 1
		c.RemainingExecutions = &n
	}
	if c.RemainingExecutions != nil && *c.RemainingExecutions == 0 {
		return tx.DeleteCronTrigger(c.ID)
	}
	sched, err := parsePattern(c.Pattern)
	if err != nil {
		e.log.Error("cron trigger with an invalid pattern deleted", "trigger", c.Name, "error", err)
		return tx.DeleteCronTrigger(c.ID)
	}
	from := c.NextExecutionTime
	if f.now.After(from) {
		from = f.now
	}
	next := sched.Next(from)
	if next.IsZero() {
		e.log.Warn("cron trigger's pattern matches no later date; trigger deleted", "trigger", c.Name, "pattern", c.Pattern)
		return tx.DeleteCronTrigger(c.ID)
	}
	c.NextExecutionTime = next
	if err := tx.UpdateCronTrigger(c); err != nil {
		return err
	}
	nt := cronTimer(c)
	if err := tx.AddTimer(nt); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	f.AfterCommit(func() { e.timerAdded(next) })
	return nil
}

// cronDescription is the description Mistral 15 gives an execution its
// cron trigger started (JSON text, Python's json.dumps spacing).
func cronDescription(c *store.CronTrigger) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return fmt.Sprintf(`{"description": %s, "triggered_by": {"type": "cron_trigger", "id": %s, "name": %s}}`,
		q(fmt.Sprintf("Workflow execution created by cron trigger '(%s)'.", c.ID)), q(c.ID), q(c.Name))
}
