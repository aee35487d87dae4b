// Package store keeps Sirocco's state: definitions, executions, the outbox of
// messages that must be sent after a commit, and timers. It has one interface
// and two implementations (SQLite for the embedded mode, PostgreSQL for the
// distributed one) that share a single test suite, so the engine never knows
// which database it talks to.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) when a row the caller named does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped) when a row with the same unique key exists.
var ErrConflict = errors.New("already exists")

// Execution states, as Mistral names them on the wire.
const (
	StateIdle    = "IDLE"
	StateWaiting = "WAITING"
	StateRunning = "RUNNING"
	StatePaused  = "PAUSED"
	StateSuccess = "SUCCESS"
	StateError   = "ERROR"
	StateCancel  = "CANCELLED"
)

// WorkflowDef is a stored workflow definition. Definition is the YAML text
// of the whole document the workflow came from, exactly as the user sent it
// (Mistral's GET /v2/workflows returns it verbatim); Spec is the parsed,
// normalised form of this one workflow, so the engine never re-parses YAML on
// the hot path.
type WorkflowDef struct {
	ID         string
	Name       string
	Namespace  string
	Definition string
	Spec       []byte // JSON of the engine's compiled workflow
	Input      string // Mistral's "input" summary, e.g. "name, greeting=hi"
	Tags       []string
	Scope      string // "private" or "public"
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ActionDef is a stored ad-hoc action definition (Mistral's POST
// /v2/actions). Definition is the YAML text of the whole document it came
// from, as the user sent it; Spec is the parsed form of this one action.
type ActionDef struct {
	ID          string
	Name        string
	Namespace   string
	Definition  string
	Spec        []byte // JSON of the engine's parsed action
	Description string
	Input       string // Mistral's "input" summary, e.g. `name, greeting="hi"`
	Tags        []string
	Scope       string // "private" or "public"
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Execution is a workflow execution. Input, Output, Params are JSON objects;
// Context is the engine's private state (published variables, the counters
// it needs to decide the next step).
type Execution struct {
	ID              string
	WorkflowID      string
	WorkflowName    string
	Namespace       string
	Description     string
	State           string
	StateInfo       string // empty means none (null on the wire)
	Input           []byte
	Output          []byte
	Params          []byte
	Context         []byte
	TaskExecutionID string // parent task, for sub-workflows
	RootExecutionID string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TaskExecution is one run of one task of a workflow execution.
type TaskExecution struct {
	ID           string
	ExecutionID  string
	WorkflowName string
	Name         string
	State        string
	StateInfo    string
	Published    []byte // JSON object
	Result       []byte // JSON value: the action's output (or the error)
	Runtime      []byte // JSON: engine bookkeeping (attempts, items, ...)
	Processed    bool   // transitions out of this task have been decided
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Rev counts the writes of the row: 0 when created, and every
	// UpdateTaskExecution adds one and sets it here. A copy of the task
	// with the same Rev as the table is what the table holds.
	Rev int64
}

// TaskRev is a task execution's id and Rev, in the order of its
// execution's tasks.
type TaskRev struct {
	ID  string
	Rev int64
}

// ActionExecution is one run of one action (one attempt, one item).
type ActionExecution struct {
	ID              string
	TaskExecutionID string // empty for actions run without a workflow
	ExecutionID     string
	Name            string
	Description     string // what the caller of POST /v2/action_executions gave
	Spec            []byte // an ad-hoc action's run: its chain (JSON), whose outputs reshape the result
	State           string
	StateInfo       string
	Input           []byte
	Output          []byte
	Attempt         int
	// ItemIndex is the with-items item this run is for (0 otherwise).
	ItemIndex int
	// Replaced is set once a retry or rerun replaced this run: its
	// result no longer makes up the task's.
	Replaced  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OutboxMsg is a message to publish once the transaction that wrote it has
// committed. MsgID de-duplicates re-sends after a crash (JetStream Nats-Msg-Id).
type OutboxMsg struct {
	Seq     int64 // assigned by the store
	Subject string
	MsgID   string
	Payload []byte
}

// Timer is a durable wake-up: at FireAt an engine's scheduler claims it and
// runs the handler registered for Kind in the claiming transaction, which
// also deletes the row. Timers are rows so that nothing waits only in a
// process's memory (a restart loses no wait, retry delay, timeout or cron
// tick) and so that two engines never fire the same one.
type Timer struct {
	ID int64 // assigned by the store
	// Key is unique: adding a timer whose key exists is ErrConflict, which
	// makes scheduling idempotent (e.g. "cron/<trigger id>/<unix time>").
	Key     string
	Kind    string // selects the handler: "cron", later "retry", "timeout", ...
	Ref     string // what the timer is about (a trigger id, a task execution id)
	FireAt  time.Time
	Payload []byte // handler-specific, opaque to the store
}

// CronTrigger starts a workflow on a cron schedule, with the fields of
// Mistral's v2 API. Zero FirstExecutionTime and UpdatedAt and a nil
// RemainingExecutions mean "not set" (null on the wire).
type CronTrigger struct {
	ID                  string
	Name                string // unique
	Pattern             string // 5-field cron syntax
	WorkflowName        string
	WorkflowID          string
	WorkflowInput       []byte // JSON object
	WorkflowParams      []byte // JSON object
	FirstExecutionTime  time.Time
	NextExecutionTime   time.Time
	RemainingExecutions *int // nil: unlimited; the trigger is deleted after its last run
	Scope               string
	CreatedAt           time.Time
	UpdatedAt           time.Time // zero until the first update
}

// ListOpts pages a listing the way Mistral's API does: by marker (the id of
// the last row of the previous page), limit, and sort keys.
type ListOpts struct {
	Marker   string
	Limit    int // 0 means no limit
	SortKeys []string
	SortDirs []string // "asc" or "desc", one per key
	Filters  map[string]string
}

// Store opens transactions and answers reads that need no transaction.
type Store interface {
	// InTx runs fn in one transaction; it commits when fn returns nil and
	// rolls back otherwise. Every change of execution state goes through it.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Migrate applies every migration not yet applied; it is idempotent.
	Migrate(ctx context.Context) error
	Close() error
}

// Tx is one transaction. Methods return errors wrapping ErrNotFound or
// ErrConflict where those apply.
type Tx interface {
	CreateWorkflowDef(d *WorkflowDef) error
	UpdateWorkflowDef(d *WorkflowDef) error
	// GetWorkflowDef finds a definition by id, or by name in the default
	// namespace "" (Mistral's behaviour when no namespace is given).
	GetWorkflowDef(name string) (*WorkflowDef, error)
	// GetWorkflowDefInNamespace finds a definition by its unique key.
	GetWorkflowDefInNamespace(namespace, name string) (*WorkflowDef, error)
	ListWorkflowDefs(o ListOpts) ([]*WorkflowDef, error)
	// DeleteWorkflowDef deletes by id, or by name in the default namespace.
	DeleteWorkflowDef(name string) error
	// DeleteWorkflowDefInNamespace deletes a definition by its unique key.
	DeleteWorkflowDefInNamespace(namespace, name string) error

	// CreateActionDef inserts an ad-hoc action definition; the name is
	// unique within its namespace (ErrConflict).
	CreateActionDef(d *ActionDef) error
	// UpdateActionDef rewrites the definition named by d.Name in d.Namespace.
	UpdateActionDef(d *ActionDef) error
	// GetActionDef finds a definition by id, or by name in the default
	// namespace.
	GetActionDef(identifier string) (*ActionDef, error)
	ListActionDefs(o ListOpts) ([]*ActionDef, error)
	// DeleteActionDef deletes by id, or by name in the default namespace.
	DeleteActionDef(identifier string) error

	CreateExecution(e *Execution) error
	// GetExecution reads one execution; lock takes the row lock that
	// serialises changes to it (SELECT ... FOR UPDATE on PostgreSQL).
	GetExecution(id string, lock bool) (*Execution, error)
	UpdateExecution(e *Execution) error
	ListExecutions(o ListOpts) ([]*Execution, error)
	// DeleteExecution deletes an execution with its task and action
	// executions and its sub-workflow executions (those whose root it is),
	// as Mistral's DELETE /v2/executions/{id} does. Whether the execution
	// may be deleted (it has ended) is the caller's decision.
	DeleteExecution(id string) error

	CreateTaskExecution(t *TaskExecution) error
	UpdateTaskExecution(t *TaskExecution) error
	GetTaskExecution(id string) (*TaskExecution, error)
	ListTaskExecutions(executionID string) ([]*TaskExecution, error)
	// ListTaskRevs is ListTaskExecutions with only ids and revs: the
	// cheap way to check copies of the tasks kept in memory.
	ListTaskRevs(executionID string) ([]TaskRev, error)
	// ListAllTaskExecutions pages through the tasks of every execution, as
	// Mistral's GET /v2/tasks does; filters: workflow_execution_id,
	// workflow_name, name, state.
	ListAllTaskExecutions(o ListOpts) ([]*TaskExecution, error)

	CreateActionExecution(a *ActionExecution) error
	// DeleteActionExecution deletes one action execution.
	DeleteActionExecution(id string) error
	UpdateActionExecution(a *ActionExecution) error
	GetActionExecution(id string) (*ActionExecution, error)
	// ListActionExecutions pages through action executions, as Mistral's
	// GET /v2/action_executions does; filters: task_execution_id,
	// workflow_execution_id, name, state.
	ListActionExecutions(o ListOpts) ([]*ActionExecution, error)
	// ListTaskActionExecutions returns a task's action executions in item
	// order, for the result of a with-items task.
	ListTaskActionExecutions(taskID string) ([]*ActionExecution, error)
	// ReplaceActionExecutions marks a task's runs as replaced (all, or
	// only the failed ones) before a retry or rerun runs them again.
	ReplaceActionExecutions(taskID string, failedOnly bool) error

	AddOutbox(msgs ...*OutboxMsg) error
	// ListOutbox returns up to limit messages in the order they were added.
	ListOutbox(limit int) ([]*OutboxMsg, error)
	DeleteOutbox(seqs ...int64) error

	// AddTimer schedules t and sets t.ID; a timer with the same Key is
	// ErrConflict (the transaction stays usable).
	AddTimer(t *Timer) error
	// ClaimTimers returns up to limit timers due at now, oldest first, and
	// locks them until the transaction ends; on PostgreSQL timers another
	// transaction holds are skipped, so concurrent engines claim disjoint
	// sets. The caller deletes what it handled in the same transaction.
	ClaimTimers(now time.Time, limit int) ([]*Timer, error)
	// DeleteTimer removes a timer; ErrNotFound when it is gone.
	DeleteTimer(id int64) error
	// DeleteTimerByKey removes the timer with key, for a caller that
	// cancels what it scheduled (a deleted trigger's next tick, a timeout
	// that no longer applies); ErrNotFound when there is none.
	DeleteTimerByKey(key string) error
	// NextTimerAt is the earliest FireAt of all timers; ok is false when
	// there are none. A scheduler sleeps until then.
	NextTimerAt() (at time.Time, ok bool, err error)

	// CreateCronTrigger inserts c, giving it an id and CreatedAt when it has
	// none; the name is unique (ErrConflict).
	CreateCronTrigger(c *CronTrigger) error
	// GetCronTrigger finds a trigger by id or name, as Mistral's
	// GET /v2/cron_triggers/{identifier}; lock holds its row until the
	// transaction ends (FOR UPDATE on PostgreSQL).
	GetCronTrigger(identifier string, lock bool) (*CronTrigger, error)
	ListCronTriggers(o ListOpts) ([]*CronTrigger, error)
	// UpdateCronTrigger writes every field of c (found by c.ID) but its id
	// and CreatedAt, and sets UpdatedAt.
	UpdateCronTrigger(c *CronTrigger) error
	// DeleteCronTrigger deletes a trigger by id or name.
	DeleteCronTrigger(identifier string) error

	EnvironmentTx
	WorkbookTx
}
