package lang

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Options tune ParseWorkflows. The zero value is ready to use.
type Options struct {
	// Source names the input in error messages, e.g. "hello.yaml" or
	// "request body".
	Source string
	// ValidateExpr, when set, checks the syntax of each string Mistral
	// validates at load time (a string holding <% %> or {{ }}). Its error is
	// reported at that value's line and column. The lang package does not
	// evaluate expressions, so the engine plugs its parsers in here.
	ValidateExpr func(expr string) error
}

// Document is a workflow document: what POST /v2/workflows accepts.
type Document struct {
	Version   string      `json:"version"`
	Workflows []*Workflow `json:"workflows"` // document order
	// Warnings are things Mistral accepts but that almost surely are
	// mistakes (an unknown workflow key, an on-* clause that leads
	// nowhere). They never stop a load.
	Warnings ErrorList `json:"warnings,omitempty"`
}

// Workflow types.
const (
	TypeDirect  = "direct"
	TypeReverse = "reverse"
)

// Workflow is one validated workflow definition. It is what the engine
// compiles and stores (as JSON), so every field has a JSON tag.
type Workflow struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"` // TypeDirect (default) or TypeReverse
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Input       []Param  `json:"input,omitempty"` // in order
	// Output and OutputOnError are nil when absent; otherwise a
	// map[string]any whose strings may hold expressions.
	Output        any            `json:"output,omitempty"`
	OutputOnError any            `json:"output_on_error,omitempty"`
	Vars          map[string]any `json:"vars,omitempty"`
	TaskDefaults  *TaskDefaults  `json:"task_defaults,omitempty"`
	Tasks         []*Task        `json:"tasks"` // document order
	// Source is the workflow's mapping as Mistral keeps it for the
	// "spec" that task() and execution() return: JSON whose keys keep
	// the document's order, with the keys Mistral adds (see source.go).
	Source json.RawMessage `json:"source,omitempty"`
	Line   int             `json:"line,omitempty"`
	Col    int             `json:"col,omitempty"`
}

// Task returns the task named name, or nil.
func (w *Workflow) Task(name string) *Task {
	for _, t := range w.Tasks {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Param is one workflow input parameter. HasDefault tells a parameter
// without a default (it must be given) from one whose default is null.
type Param struct {
	Name       string `json:"name"`
	Default    any    `json:"default,omitempty"`
	HasDefault bool   `json:"has_default,omitempty"`
}

// JoinAll is Task.Join for `join: all`.
const JoinAll = -1

// Task is one task of a workflow. Policy values (WaitBefore, Timeout, ...)
// are nil when absent, an int64, a bool, or a string holding an expression
// to evaluate at run time, exactly as Mistral keeps them.
type Task struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Action is "" when the task runs a workflow, and "std.noop" when the
	// task names neither (as Mistral does).
	Action   string `json:"action,omitempty"`
	Workflow string `json:"workflow,omitempty"`
	// Input is a map[string]any with the inline parameters of the action
	// or workflow string merged in (they win over `input:`), or a string
	// holding an expression that yields the input.
	Input any `json:"input,omitempty"`

	WithItems []WithItem `json:"with_items,omitempty"`

	Publish        map[string]any `json:"publish,omitempty"`
	PublishOnError map[string]any `json:"publish_on_error,omitempty"`
	PublishOnSkip  map[string]any `json:"publish_on_skip,omitempty"`

	Policies

	Target     string `json:"target,omitempty"`
	KeepResult any    `json:"keep_result,omitempty"` // nil means true
	SafeRerun  any    `json:"safe_rerun,omitempty"`  // nil means false (or the task-defaults value)

	// Join is 0 without join, JoinAll for `join: all`, and the number of
	// inbound tasks to wait for otherwise (`join: one` is 1).
	Join int `json:"join,omitempty"`
	// Requires lists the tasks a reverse-workflow task depends on.
	Requires []string `json:"requires,omitempty"`

	OnSuccess  []Transition `json:"on_success,omitempty"`
	OnError    []Transition `json:"on_error,omitempty"`
	OnComplete []Transition `json:"on_complete,omitempty"`
	OnSkip     []Transition `json:"on_skip,omitempty"`
	// The advanced on-* form (`on-success: {publish: ..., next: ...}`)
	// may publish; these are nil otherwise.
	OnSuccessPublish  *ScopedPublish `json:"on_success_publish,omitempty"`
	OnErrorPublish    *ScopedPublish `json:"on_error_publish,omitempty"`
	OnCompletePublish *ScopedPublish `json:"on_complete_publish,omitempty"`
	OnSkipPublish     *ScopedPublish `json:"on_skip_publish,omitempty"`

	Line int `json:"line,omitempty"`
	Col  int `json:"col,omitempty"`
}

// Policies are the task keys that Mistral groups as policies; tasks and
// task-defaults share them.
type Policies struct {
	Retry       *Retry `json:"retry,omitempty"`
	WaitBefore  any    `json:"wait_before,omitempty"`
	WaitAfter   any    `json:"wait_after,omitempty"`
	Timeout     any    `json:"timeout,omitempty"`
	PauseBefore any    `json:"pause_before,omitempty"`
	Concurrency any    `json:"concurrency,omitempty"`
	FailOn      any    `json:"fail_on,omitempty"`
}

// Retry is the retry policy. Count and Delay are int64 or an expression
// string; BreakOn and ContinueOn are expressions ("" when absent).
type Retry struct {
	Count      any    `json:"count"`
	Delay      any    `json:"delay"`
	BreakOn    string `json:"break_on,omitempty"`
	ContinueOn string `json:"continue_on,omitempty"`
}

// WithItem is one `var in <list>` clause of with-items. Expr holds the
// expression after `in`; List holds a literal `[...]` list instead.
type WithItem struct {
	Var  string `json:"var"`
	Expr string `json:"expr,omitempty"`
	List []any  `json:"list,omitempty"`
}

// ScopedPublish is the publish of the advanced on-* form: variables
// published into the branch, globally, or atomically.
type ScopedPublish struct {
	Branch map[string]any `json:"branch,omitempty"`
	Global map[string]any `json:"global,omitempty"`
	Atomic map[string]any `json:"atomic,omitempty"`
}

// TaskDefaults are the defaults applied to every task of a workflow.
// A task's own on-* clause replaces the default one; the default clause
// never leads a task to itself.
type TaskDefaults struct {
	Policies
	SafeRerun any      `json:"safe_rerun,omitempty"`
	Requires  []string `json:"requires,omitempty"`

	OnSuccess         []Transition   `json:"on_success,omitempty"`
	OnError           []Transition   `json:"on_error,omitempty"`
	OnComplete        []Transition   `json:"on_complete,omitempty"`
	OnSkip            []Transition   `json:"on_skip,omitempty"`
	OnSuccessPublish  *ScopedPublish `json:"on_success_publish,omitempty"`
	OnErrorPublish    *ScopedPublish `json:"on_error_publish,omitempty"`
	OnCompletePublish *ScopedPublish `json:"on_complete_publish,omitempty"`
	OnSkipPublish     *ScopedPublish `json:"on_skip_publish,omitempty"`
}

// Engine commands a transition may name instead of a task. An engine
// command wins over a task of the same name, as in Mistral's engine.
const (
	CmdFail    = "fail"
	CmdSucceed = "succeed"
	CmdPause   = "pause"
	CmdNoop    = "noop"
)

// Transition is one entry of an on-success / on-error / on-complete /
// on-skip clause: the next task, or an engine command with its optional
// msg=, taken when Guard ("" is unconditional) holds.
type Transition struct {
	Task    string `json:"task,omitempty"`
	Command string `json:"command,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Guard   string `json:"guard,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
}

// Error is one problem found in a definition, with its place.
type Error struct {
	Source   string `json:"source,omitempty"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Workflow string `json:"workflow,omitempty"`
	Task     string `json:"task,omitempty"`
	Msg      string `json:"msg"`
}

// Error reads `hello.yaml:7:9: workflow "wf", task "t1": unknown key ...`.
func (e *Error) Error() string {
	var b strings.Builder
	src := e.Source
	if src == "" {
		src = "<input>"
	}
	fmt.Fprintf(&b, "%s:%d:%d: ", src, e.Line, e.Col)
	if e.Workflow != "" {
		fmt.Fprintf(&b, "workflow %q", e.Workflow)
		if e.Task != "" {
			fmt.Fprintf(&b, ", task %q", e.Task)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a definition, sorted by position,
// so that one round trip shows the author all of them.
type ErrorList []*Error

// Error joins the errors, one per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
}
