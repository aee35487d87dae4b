package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// SchedulerConfig tunes a Scheduler; the zero value is ready for use.
type SchedulerConfig struct {
	// Now is the clock every due date is compared with; nil is time.Now.
	// Tests move it instead of waiting for real minutes.
	Now func() time.Time
	// Sweep is the longest the scheduler sleeps without reading the next
	// fire time again (default 10 s). It only matters for timers that
	// another process added: this process's own additions wake it at once.
	Sweep time.Duration
	// Batch is how many due timers one transaction claims (default 64).
	Batch int
	// RetryDelay postpones a timer whose handler failed (a database error),
	// so that one bad timer cannot block the rest (default 5 s).
	RetryDelay time.Duration
	Logger     hclog.Logger
}

// Scheduler fires the engine's durable timers (cron ticks now; retry delays,
// waits and timeouts later). It sleeps until the earliest timer, or until a
// transaction of this process adds an earlier one, then claims the due
// timers in batches and runs each timer's handler in the claiming
// transaction, which also deletes the timer. Nothing lives only in memory:
// a timer due while no engine ran fires when one starts, and on PostgreSQL
// engines claim disjoint timers (FOR UPDATE SKIP LOCKED), so each fires once.
type Scheduler struct {
	e        *Engine
	now      func() time.Time
	sweep    time.Duration
	batch    int
	retry    time.Duration
	log      hclog.Logger
	handlers map[string]timerHandler

	kick chan struct{}
	mu   sync.Mutex
	// wakeAt is when the sleeping loop will wake by itself; Notify of an
	// earlier time kicks it.
	wakeAt time.Time
}

// timerHandler runs one due timer inside the transaction that claimed it.
// It must not call InTx (SQLite has one connection). When it returns nil
// the scheduler deletes the timer in the same transaction; a handler that
// wants another wake-up adds a new timer (with a new key). An error rolls
// the whole transaction back and postpones the timer by RetryDelay: return
// one only for failures worth retrying, not for bad user data.
type timerHandler func(f *firing, tx store.Tx, t *store.Timer) error

// firing is what a handler may use besides the transaction.
type firing struct {
	now         time.Time
	afterCommit []func()
}

// AfterCommit runs fn once the claiming transaction has committed (cache
// updates, notifications); never if it rolls back.
func (f *firing) AfterCommit(fn func()) { f.afterCommit = append(f.afterCommit, fn) }

// Timer kinds.
const timerKindCron = "cron"

// NewScheduler builds the scheduler of e's timers; Run starts it. One
// engine has at most one scheduler.
func (e *Engine) NewScheduler(cfg SchedulerConfig) *Scheduler {
	s := &Scheduler{
		e: e, now: cfg.Now, sweep: cfg.Sweep, batch: cfg.Batch, retry: cfg.RetryDelay, log: cfg.Logger,
		kick: make(chan struct{}, 1),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sweep <= 0 {
		s.sweep = 10 * time.Second
	}
	if s.batch <= 0 {
		s.batch = 64
	}
	if s.retry <= 0 {
		s.retry = 5 * time.Second
	}
	if s.log == nil {
		s.log = e.log.Named("scheduler")
	}
	s.handlers = map[string]timerHandler{
		timerKindCron: e.fireCronTick, timerKindTask: e.fireTaskTimer,
		timerKindChildDone: e.fireChild, timerKindChildState: e.fireChild,
		// The kind timeouts had before task timers had kinds of their own.
		timerKindLegacyTimeout: e.fireTaskTimer,
	}
	e.sched.Store(s)
	return s
}

// schedulerOf returns e's scheduler, or nil when it has none (an API-only
// process: its timers are fired by the engines' sweeps).
func (e *Engine) schedulerOf() *Scheduler {
	return e.sched.Load()
}

// clock is the time the engine validates and schedules against: its
// scheduler's clock, or the wall clock.
func (e *Engine) clock() time.Time {
	if s := e.schedulerOf(); s != nil {
		return s.now().UTC()
	}
	return time.Now().UTC()
}

// timerAdded wakes the scheduler after a commit that added a timer due at
// at, if that is earlier than it planned to wake.
func (e *Engine) timerAdded(at time.Time) {
	if s := e.schedulerOf(); s != nil {
		s.Notify(at)
	}
}

// Notify tells the scheduler that a timer due at at was committed.
func (s *Scheduler) Notify(at time.Time) {
	s.mu.Lock()
	wake := s.wakeAt.IsZero() || at.Before(s.wakeAt)
	s.mu.Unlock()
	if wake {
		s.wakeUp()
	}
}

func (s *Scheduler) wakeUp() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run fires due timers until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	defer s.e.sched.CompareAndSwap(s, nil)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		sleep := s.sweep
		if err := s.fireDue(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("firing timers failed; will retry", "error", err)
			sleep = min(s.retry, s.sweep)
		} else if next, ok, err := s.nextAt(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("reading the next timer failed; will retry", "error", err)
			sleep = min(s.retry, s.sweep)
		} else if ok {
			sleep = max(0, min(next.Sub(s.now()), s.sweep))
		}
		s.mu.Lock()
		s.wakeAt = s.now().Add(sleep)
		s.mu.Unlock()
		timer.Reset(sleep)
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			// Since Go 1.23 a stopped timer delivers no stale value, so
			// Reset needs no drain.
			timer.Stop()
		case <-timer.C:
		}
	}
}

func (s *Scheduler) nextAt(ctx context.Context) (at time.Time, ok bool, err error) {
	err = s.e.store.InTx(ctx, func(tx store.Tx) error {
		at, ok, err = tx.NextTimerAt()
		return err
	})
	return at, ok, err
}

// fireDue fires batches until no timer is due. When a batch fails, its
// timers are fired one per transaction, and the one whose handler fails
// is postponed, so the others still fire.
func (s *Scheduler) fireDue(ctx context.Context) error {
	for {
		claimed, err := s.fireBatch(ctx, s.batch)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			s.log.Warn("a batch of timers failed; firing them one by one", "timers", len(claimed), "error", err)
			for range claimed {
				one, err := s.fireBatch(ctx, 1)
				if err != nil {
					if len(one) != 1 {
						return err
					}
					if err := s.postpone(ctx, one[0], err); err != nil {
						return err
					}
				} else if len(one) == 0 {
					break
				}
			}
			continue
		}
		if len(claimed) < s.batch {
			return nil
		}
	}
}

// fireBatch claims up to limit due timers and runs their handlers, all in
// one transaction. It returns the claimed timers whether or not it
// committed.
func (s *Scheduler) fireBatch(ctx context.Context, limit int) ([]*store.Timer, error) {
	f := &firing{now: s.now().UTC()}
	var claimed []*store.Timer
	err := s.e.store.InTx(ctx, func(tx store.Tx) error {
		f.afterCommit = nil
		var err error
		if claimed, err = tx.ClaimTimers(f.now, limit); err != nil {
			return err
		}
		// Handlers lock the row a timer refers to (an execution, a cron
		// trigger); taking them in one order in every batch keeps two
		// engines' batches from waiting on each other in a cycle.
		sort.SliceStable(claimed, func(i, j int) bool { return claimed[i].Ref < claimed[j].Ref })
		for _, t := range claimed {
			h := s.handlers[t.Kind]
			if h == nil {
				// Perhaps added by a newer engine during a rolling upgrade:
				// keep it for an engine that knows the kind.
				s.log.Warn("timer of an unknown kind postponed", "key", t.Key, "kind", t.Kind)
				if err := reschedule(tx, t, f.now.Add(s.sweep)); err != nil {
					return err
				}
				continue
			}
			if err := h(f, tx, t); err != nil {
				return fmt.Errorf("timer %q (%s): %w", t.Key, t.Kind, err)
			}
			kind := t.Kind
			f.AfterCommit(func() { s.e.metrics.TimersFired.WithLabelValues(kind).Inc() })
			if err := tx.DeleteTimer(t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return claimed, err
	}
	for _, fn := range f.afterCommit {
		fn()
	}
	if len(claimed) > 0 {
		s.e.wake() // the handlers may have written outbox rows
	}
	return claimed, nil
}

// postpone moves a timer whose handler failed RetryDelay into the future.
func (s *Scheduler) postpone(ctx context.Context, t *store.Timer, cause error) error {
	s.log.Error("timer handler failed; postponed", "key", t.Key, "kind", t.Kind, "ref", t.Ref, "retry_in", s.retry, "error", cause)
	return s.e.store.InTx(ctx, func(tx store.Tx) error {
		err := reschedule(tx, t, s.now().Add(s.retry))
		if errors.Is(err, store.ErrNotFound) {
			return nil // another engine fired it meanwhile
		}
		return err
	})
}

// reschedule moves t to at, keeping its key.
func reschedule(tx store.Tx, t *store.Timer, at time.Time) error {
	if err := tx.DeleteTimer(t.ID); err != nil {
		return err
	}
	moved := *t
	moved.FireAt = at
	return tx.AddTimer(&moved)
}
