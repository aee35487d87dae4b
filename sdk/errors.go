package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Error types the SDK itself produces. Workflows may branch on them, so they
// are part of the protocol's contract and never change spelling.
const (
	// ErrTypeAction is the type of a plain Go error returned by an action.
	ErrTypeAction = "ActionError"
	// ErrTypePanic is a panic inside an action; the plugin keeps serving.
	ErrTypePanic = "ActionPanic"
	// ErrTypeInvalidInput is input that does not fit the action's schema.
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeUnknownAction is a call to an action the plugin does not serve.
	ErrTypeUnknownAction = "UnknownAction"
	// ErrTypeOutput is an output that could not be encoded as JSON.
	ErrTypeOutput = "InvalidOutput"
	// ErrTypeTimeout is an action that gave up because its deadline passed.
	ErrTypeTimeout = "ActionTimeout"
	// ErrTypeCancelled is an action that stopped because it was cancelled.
	ErrTypeCancelled = "ActionCancelled"
)

// Error is a failed run with a type a workflow can branch on and data it can
// read as the task's error result (Mistral puts an action's error value in
// task(...).result). Return it, or an error wrapping it, from an action.
type Error struct {
	// Type classifies the failure, e.g. "HTTPError"; empty means ActionError.
	Type string
	// Message is for people; empty means the wrapped error's text.
	Message string
	// Data is any JSON-encodable value; nil means no data.
	Data any
	// Retryable hints that the same input may succeed later.
	Retryable bool
	// Err is the cause, kept for errors.Is and errors.As.
	Err error
}

// NewError builds a typed error with data, the common case for an action
// that wants the workflow to see a structured result on failure.
func NewError(typ, message string, data any) *Error {
	return &Error{Type: typ, Message: message, Data: data}
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	case e.Type != "":
		return e.Type
	}
	return ErrTypeAction
}

func (e *Error) Unwrap() error { return e.Err }

// classified marks an error retryable or not without changing its text.
type classified struct {
	err       error
	retryable bool
}

func (c *classified) Error() string { return c.err.Error() }
func (c *classified) Unwrap() error { return c.err }

// Retryable marks err as transient (a timeout, a 503): the engine may retry
// the run with the same input. The outermost Retryable or Fatal wins.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, retryable: true}
}

// Fatal marks err as permanent: retrying with the same input cannot help.
// Plain errors are already treated so; Fatal overrides a Retryable inside.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, retryable: false}
}

// wireError is the protocol's view of an action error.
type wireError struct {
	Type      string
	Message   string
	Data      json.RawMessage
	Retryable bool
}

// toWireError turns any error an action returned into the protocol's
// {type, message, data, retryable}.
func toWireError(err error) wireError {
	w := wireError{Type: ErrTypeAction, Message: err.Error()}
	var typed *Error
	if errors.As(err, &typed) {
		if typed.Type != "" {
			w.Type = typed.Type
		}
		w.Retryable = typed.Retryable
		if typed.Data != nil {
			data, merr := json.Marshal(typed.Data)
			if merr != nil {
				w.Message = fmt.Sprintf("%s (error data not JSON-encodable: %v)", w.Message, merr)
			} else {
				w.Data = data
			}
		}
	} else {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			w.Type = ErrTypeTimeout
		case errors.Is(err, context.Canceled):
			w.Type = ErrTypeCancelled
		}
	}
	var c *classified
	if errors.As(err, &c) {
		w.Retryable = c.retryable
	}
	return w
}
