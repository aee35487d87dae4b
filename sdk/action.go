package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// ActionDef is one action a plugin serves, built by Action. Its fields are
// private so that every action goes through Action's checks.
type ActionDef struct {
	name         string
	description  string
	async        bool
	cancellable  bool
	idempotent   bool
	timeout      time.Duration
	inputSchema  json.RawMessage
	outputSchema json.RawMessage
	// inputFields are the top-level input properties: name -> required.
	inputFields map[string]bool
	run         func(Context, json.RawMessage) (any, error)
}

// Name is the action's name as workflows call it.
func (a ActionDef) Name() string { return a.name }

// ActionOption sets an optional property of an action.
type ActionOption func(*ActionDef)

// Async marks an action whose result arrives later through the callback URL
// (Mistral's async actions): the run's completed output is ignored and the
// action execution stays RUNNING.
func Async() ActionOption { return func(a *ActionDef) { a.async = true } }

// Cancellable marks an action that stops promptly when its context is
// cancelled, so the engine may cancel it rather than wait for it.
func Cancellable() ActionOption { return func(a *ActionDef) { a.cancellable = true } }

// Idempotent marks an action that may safely run again after a crash
// (Mistral's safe-rerun); the engine re-dispatches it without asking.
func Idempotent() ActionOption { return func(a *ActionDef) { a.idempotent = true } }

// DefaultTimeout is the deadline applied when the task sets none.
func DefaultTimeout(d time.Duration) ActionOption {
	return func(a *ActionDef) { a.timeout = d }
}

// Action builds a typed action. In must be a struct (or pointer to one): its
// fields are the action's named parameters, and its JSON Schema is derived
// from the fields (see the rules on schema derivation: json tags name
// fields, non-pointer fields without omitempty are required, `description`
// documents them). Out is any JSON-encodable type.
//
// Action panics if In or Out cannot be described, so that a mistake stops
// the plugin at start-up rather than failing a workflow later.
func Action[In, Out any](name, description string, fn func(ctx Context, in In) (Out, error), opts ...ActionOption) ActionDef {
	if name == "" {
		panic("sdk.Action: empty action name")
	}
	if fn == nil {
		panic(fmt.Sprintf("sdk.Action %q: nil function", name))
	}
	inType := reflect.TypeFor[In]()
	structType := inType
	if structType.Kind() == reflect.Pointer {
		structType = structType.Elem()
	}
	if structType.Kind() != reflect.Struct {
		panic(fmt.Sprintf("sdk.Action %q: input type %s is not a struct; actions take named parameters", name, inType))
	}
	in, err := schemaOf(inType, true)
	if err != nil {
		panic(fmt.Sprintf("sdk.Action %q: input: %v", name, err))
	}
	out, err := schemaOf(reflect.TypeFor[Out](), false)
	if err != nil {
		panic(fmt.Sprintf("sdk.Action %q: output: %v", name, err))
	}
	a := ActionDef{
		name:        name,
		description: description,
		inputFields: map[string]bool{},
	}
	a.inputSchema, _ = json.Marshal(in)
	a.outputSchema, _ = json.Marshal(out)
	for _, f := range structFields(structType) {
		a.inputFields[f.name] = f.required
	}
	for _, o := range opts {
		o(&a)
	}
	a.run = func(ctx Context, raw json.RawMessage) (any, error) {
		var v In
		if err := a.decodeInput(raw, &v); err != nil {
			return nil, err
		}
		return fn(ctx, v)
	}
	return a
}

// decodeInput checks raw against the action's parameters and decodes it.
// Errors name the offending parameter, as Mistral's "Invalid input" does.
func (a *ActionDef) decodeInput(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return invalidInput(a.name, "input is not a JSON object", err)
	}
	var unknown, missing []string
	for k := range fields {
		if _, ok := a.inputFields[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	for k, req := range a.inputFields {
		if _, ok := fields[k]; req && !ok {
			missing = append(missing, k)
		}
	}
	if len(unknown) > 0 || len(missing) > 0 {
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "missing required parameters: "+joinSorted(missing))
		}
		if len(unknown) > 0 {
			parts = append(parts, "unexpected parameters: "+joinSorted(unknown))
		}
		return invalidInput(a.name, strings.Join(parts, "; "), nil)
	}
	raw = a.dropNullOptionals(raw, fields)
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidInput(a.name, fmt.Sprintf("parameter %q: expected %s, got JSON %s", te.Field, te.Type, te.Value), err)
		}
		return invalidInput(a.name, "cannot decode input", err)
	}
	return nil
}

// dropNullOptionals removes the optional parameters whose value is null
// from raw (the object whose members are fields), so that each decodes as
// its zero value whatever its type: encoding/json would hand the null to a
// json.RawMessage or a custom UnmarshalJSON instead. Required parameters
// keep their null (an `any` parameter may want it). Members that came out
// of a JSON object always encode again; should that ever fail, raw is
// decoded as it is, where encoding/json gives most types their zero value.
func (a *ActionDef) dropNullOptionals(raw json.RawMessage, fields map[string]json.RawMessage) json.RawMessage {
	dropped := false
	for k, v := range fields {
		if required, known := a.inputFields[k]; known && !required && bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(fields, k)
			dropped = true
		}
	}
	if !dropped {
		return raw
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return raw
	}
	return b
}

func invalidInput(action, msg string, cause error) error {
	full := fmt.Sprintf("invalid input for action %s: %s", action, msg)
	if cause != nil {
		full = fmt.Sprintf("%s: %v", full, cause)
	}
	return &Error{Type: ErrTypeInvalidInput, Message: full, Err: cause}
}

func joinSorted(s []string) string {
	slices.Sort(s)
	return strings.Join(s, ", ")
}
