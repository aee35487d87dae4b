package transport

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ProtocolVersion is the version of the messages engines and executor hosts
// exchange. A minor step only adds optional fields, so adjacent minors mix
// during a rolling upgrade; a different major is refused by the receiver.
const (
	ProtocolMajor   = 1
	ProtocolMinor   = 0
	ProtocolVersion = "1.0"
)

// ActionRequest asks an executor host to run one action. It is cast to
// <prefix>.action.<target>.<plugin> and answered later with an ActionResult.
type ActionRequest struct {
	V                 string          `json:"v"`
	ActionExecutionID string          `json:"action_execution_id"`
	TaskExecutionID   string          `json:"task_execution_id,omitempty"`
	ExecutionID       string          `json:"workflow_execution_id,omitempty"`
	WorkflowName      string          `json:"workflow_name,omitempty"`
	Action            string          `json:"action"`
	Input             json.RawMessage `json:"input"`
	Attempt           int             `json:"attempt"`
	WithItemsIndex    int             `json:"with_items_index,omitempty"`
	TimeoutSeconds    float64         `json:"timeout_seconds,omitempty"`
	CallbackURL       string          `json:"callback_url,omitempty"`
	// SafeRerun says the action may run again after its host died while
	// running it (the task's safe-rerun). Without it a redelivered request
	// is answered with an ExecutorLost error instead of a second run.
	SafeRerun bool `json:"safe_rerun,omitempty"`
}

// ErrTypeExecutorLost is the error type of an action whose executor host
// stopped answering while it ran, when the task is not safe to rerun.
const ErrTypeExecutorLost = "ExecutorLost"

// ActionResult is what an executor host sends back on <prefix>.result. It
// names the action execution and attempt so the engine applies it once.
type ActionResult struct {
	V                 string          `json:"v"`
	ActionExecutionID string          `json:"action_execution_id"`
	ExecutionID       string          `json:"workflow_execution_id,omitempty"`
	Attempt           int             `json:"attempt"`
	Output            json.RawMessage `json:"output,omitempty"`
	Error             *ActionError    `json:"error,omitempty"`
	Executor          string          `json:"executor,omitempty"`
}

// ActionError is a failed action: a type a workflow can match on, a message
// for people, optional data and whether a retry may help.
type ActionError struct {
	Type      string          `json:"type"`
	Message   string          `json:"message"`
	Data      json.RawMessage `json:"data,omitempty"`
	Retryable bool            `json:"retryable,omitempty"`
}

// Decode unmarshals a message after checking that its major version is one
// this process speaks. The error for a foreign major says so plainly, so
// the caller can leave the message for a peer that does speak it.
func Decode(data []byte, v any) error {
	var head struct {
		V string `json:"v"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("decode message: %w", err)
	}
	if err := CheckVersion(head.V); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode message: %w", err)
	}
	return nil
}

// ErrUnsupportedVersion marks a message whose major version this process
// does not speak.
type ErrUnsupportedVersion struct{ Got string }

func (e *ErrUnsupportedVersion) Error() string {
	return fmt.Sprintf("message protocol version %q is not supported (this process speaks %d.x)", e.Got, ProtocolMajor)
}

// CheckVersion accepts any "1.x" version string.
func CheckVersion(v string) error {
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n != ProtocolMajor {
		return &ErrUnsupportedVersion{Got: v}
	}
	return nil
}
