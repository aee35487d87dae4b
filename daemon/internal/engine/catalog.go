package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

var _ api.Catalog = (*Engine)(nil)

// Plugins lists every plugin of every live executor host, from the
// registry the hosts announce themselves in.
func (e *Engine) Plugins(context.Context) ([]api.PluginStatus, error) {
	var out []api.PluginStatus
	for _, h := range e.reg.Hosts() {
		for _, p := range h.Plugins {
			out = append(out, api.PluginStatus{
				Name: p.Name, Version: p.Version, Protocol: p.Protocol, SDKVersion: p.SDKVersion,
				SHA256: p.SHA256, Health: p.Health, Actions: append([]string{}, p.Actions...),
				Executor: h.ID, Host: h.Host, Target: h.Target,
			})
		}
	}
	return out, nil
}

// Actions lists every action some live executor host serves, once each;
// when hosts disagree (a rolling upgrade) the first host by id wins.
func (e *Engine) Actions(context.Context) ([]api.ActionSpec, error) {
	seen := map[string]bool{}
	var out []api.ActionSpec
	for _, h := range e.reg.Hosts() {
		for _, p := range h.Plugins {
			specs := map[string]transport.ActionSpec{}
			for _, s := range p.Specs {
				specs[s.Name] = s
			}
			for _, a := range p.Actions {
				if seen[a] {
					continue
				}
				seen[a] = true
				s := specs[a]
				out = append(out, api.ActionSpec{Name: a, Description: s.Description, InputSchema: s.Input, Plugin: p.Name})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// inputSchema finds the input schema of action as served on target; nil
// when no host describes it (an older host, or a plugin without schemas).
func (e *Engine) inputSchema(target, action string) json.RawMessage {
	s, _ := e.actionSpec(target, action)
	return s.Input
}

// checkActionInput checks a task's action input against the action's JSON
// Schema before it is dispatched, so that a mistake fails the task at once
// with a message naming the task and the field, instead of a round trip to
// a plugin. nil means the input fits (or the action has no schema).
func (e *Engine) checkActionInput(st *controller.State, a controller.RunAction) *controller.ActionError {
	task := a.TaskID
	for _, t := range st.Tasks {
		if t.ID == a.TaskID {
			task = t.Name
		}
	}
	// The request must be sendable at all: JSON without NaN or Inf, and
	// under the NATS server's message limit (a request too large would
	// otherwise sit in the outbox forever).
	b, err := json.Marshal(a.Input)
	if err != nil {
		return &controller.ActionError{Type: "InvalidInput", Message: fmt.Sprintf("task %q: the input of action %s cannot be sent as JSON: %v", task, a.Action, err)}
	}
	if limit := e.conn.MaxPayload() - requestOverhead; int64(len(b)) > limit {
		return &controller.ActionError{Type: "InputTooLarge", Message: fmt.Sprintf(
			"task %q: the input of action %s is %d bytes; one message may carry at most %d: pass large data by reference", task, a.Action, len(b), limit)}
	}
	schema := e.inputSchema(targetOr(a.Target), a.Action)
	if schema == nil {
		return nil
	}
	if err := CheckInput(task, a.Action, schema, a.Input); err != nil {
		return &controller.ActionError{Type: "InvalidInput", Message: err.Error()}
	}
	return nil
}

// CheckInput checks input against an action's input JSON Schema. It knows
// the subset the SDK and the built-ins produce (type, properties, required,
// additionalProperties, enum, items); other keywords are not checked. The
// error names the task, the action and the field as a JSON pointer, except
// that missing or unexpected parameters of an action Mistral has a class
// for are Mistral's message (an *inputMismatch), which the task's failure
// names the task around as Mistral's does.
func CheckInput(task, action string, schema json.RawMessage, input map[string]any) error {
	err := checkSchema(action, schema, input)
	var mm *inputMismatch
	if err == nil || errors.As(err, &mm) {
		return err
	}
	return fmt.Errorf("task %q: %w", task, err)
}

// checkSchema is CheckInput for an action run without a task.
func checkSchema(action string, schema json.RawMessage, input map[string]any) error {
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil // a schema we cannot read checks nothing; the plugin still checks its input
	}
	// Expression results may hold Go types JSON does not name; check what
	// the action will receive.
	var in any = map[string]any{}
	if input != nil {
		b, err := json.Marshal(input)
		if err != nil {
			return fmt.Errorf("input of action %s cannot be encoded as JSON: %w", action, err)
		}
		if err := json.Unmarshal(b, &in); err != nil {
			return fmt.Errorf("input of action %s: %w", action, err)
		}
	}
	if mm := schemaMismatch(action, s, in); mm != nil {
		return mm
	}
	if msg := validate(s, in, ""); msg != "" {
		return fmt.Errorf("input of action %s does not fit its schema: %s", action, msg)
	}
	return nil
}

// validate returns the first mismatch of v against schema s at pointer.
func validate(s map[string]any, v any, pointer string) string {
	at := func(msg string) string {
		if pointer == "" {
			return msg
		}
		return "field " + pointer + ": " + msg
	}
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		return at(fmt.Sprintf("expected %s, got %s", typeNames(t), jsonKind(v)))
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		found := false
		for _, e := range enum {
			if jsonEqual(e, v) {
				found = true
				break
			}
		}
		if !found {
			b, _ := json.Marshal(enum)
			return at(fmt.Sprintf("must be one of %s", b))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				name, _ := r.(string)
				if _, ok := v[name]; !ok {
					return "field " + pointer + "/" + escape(name) + ": required but missing"
				}
			}
		}
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			sub, known := props[k].(map[string]any)
			if !known {
				switch ap := s["additionalProperties"].(type) {
				case bool:
					if !ap {
						return "field " + pointer + "/" + escape(k) + ": not a parameter of this action" + knownList(props)
					}
				case map[string]any:
					sub = ap
				}
			}
			if sub != nil {
				if msg := validate(sub, v[k], pointer+"/"+escape(k)); msg != "" {
					return msg
				}
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, item := range v {
				if msg := validate(items, item, fmt.Sprintf("%s/%d", pointer, i)); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}

func knownList(props map[string]any) string {
	if len(props) == 0 {
		return " (it takes no parameters)"
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}

// escape encodes a property name as a JSON pointer token (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func typeMatches(t any, v any) bool {
	switch t := t.(type) {
	case string:
		return kindIs(t, v)
	case []any:
		for _, one := range t {
			if s, ok := one.(string); ok && kindIs(s, v) {
				return true
			}
		}
		return false
	}
	return true
}

func kindIs(t string, v any) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := toFloat(v)
		return ok
	case "integer":
		f, ok := toFloat(v)
		return ok && f == math.Trunc(f)
	}
	return true // a type we do not know constrains nothing here
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func typeNames(t any) string {
	switch t := t.(type) {
	case string:
		return article(t)
	case []any:
		var parts []string
		for _, one := range t {
			if s, ok := one.(string); ok {
				parts = append(parts, article(s))
			}
		}
		return strings.Join(parts, " or ")
	}
	return fmt.Sprint(t)
}

func article(t string) string {
	switch t {
	case "object", "array", "integer":
		return "an " + t
	case "null":
		return "null"
	}
	return "a " + t
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	if _, ok := toFloat(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func jsonEqual(a, b any) bool {
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ab) == string(bb)
}

// requestOverhead bounds what an action request adds to its input (ids,
// names, the callback URL).
const requestOverhead = 4 << 10

// rejectBadInput fails, through the controller, every task in d whose
// action input does not fit the action's schema, as persist does for an
// action no host serves; what the controller decides next (an on-error
// task) is merged into d and checked in turn.
func (e *Engine) rejectBadInput(st *controller.State, d *controller.Decision) error {
	for {
		var ok []controller.RunAction
		type rejected struct {
			a   controller.RunAction
			err *controller.ActionError
		}
		var bad []rejected
		for _, a := range d.Actions {
			if aerr := e.checkActionInput(st, a); aerr != nil {
				bad = append(bad, rejected{a, aerr})
			} else {
				ok = append(ok, a)
			}
		}
		d.Actions = ok
		if len(bad) == 0 {
			return nil
		}
		for _, r := range bad {
			next, err := e.ctrl.FailToRun(st, r.a.TaskID, r.err.Message)
			if err != nil {
				return err
			}
			merge(d, next)
		}
	}
}

var _ api.Executors = (*Engine)(nil)

// ListExecutors lists the live executor hosts from the registry.
func (e *Engine) ListExecutors(context.Context) ([]api.Executor, error) {
	hosts := e.reg.Hosts()
	out := make([]api.Executor, 0, len(hosts))
	for _, h := range hosts {
		x := api.Executor{
			ID: h.ID, Host: h.Host, Target: h.Target, Capacity: h.Capacity, Running: h.Running,
			StartedAt: h.StartedAt.UTC().Format(api.TimeFormat), SeenAt: h.SeenAt.UTC().Format(api.TimeFormat),
		}
		for _, p := range h.Plugins {
			x.Plugins = append(x.Plugins, api.ExecutorPlugin{Name: p.Name, Version: p.Version, Health: p.Health, Actions: p.Actions})
		}
		out = append(out, x)
	}
	return out, nil
}
