package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// builtinFunc runs one built-in action. These need nothing outside the
// process, so every executor host runs them without a plugin subprocess.
type builtinFunc func(ctx context.Context, input map[string]any) (any, *transport.ActionError)

// builtins are Mistral's std actions that need no outside world, with
// Mistral's parameter names and results.
var builtins = map[string]builtinFunc{
	"std.echo": func(_ context.Context, in map[string]any) (any, *transport.ActionError) {
		return in["output"], nil
	},
	"std.noop": func(context.Context, map[string]any) (any, *transport.ActionError) {
		return nil, nil
	},
	// std.async_noop starts nothing; its result comes later through
	// PUT /v2/action_executions/{id}, as with any async action.
	"std.async_noop": func(context.Context, map[string]any) (any, *transport.ActionError) {
		return nil, nil
	},
	"std.fail": func(_ context.Context, in map[string]any) (any, *transport.ActionError) {
		e := &transport.ActionError{Type: "ActionException", Message: "Fail action expected exception."}
		if d, ok := in["error_data"]; ok && d != nil {
			e.Data, _ = json.Marshal(d)
		}
		return nil, e
	},
	"std.sleep": func(ctx context.Context, in map[string]any) (any, *transport.ActionError) {
		secs, err := number(in["seconds"])
		if err != nil {
			return nil, &transport.ActionError{Type: "InvalidInput", Message: "std.sleep: seconds: " + err.Error()}
		}
		t := time.NewTimer(time.Duration(secs * float64(time.Second)))
		defer t.Stop()
		select {
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, &transport.ActionError{Type: "ActionTimeout", Message: "std.sleep interrupted: " + ctx.Err().Error()}
		}
	},
	"std.test_dict": func(_ context.Context, in map[string]any) (any, *transport.ActionError) {
		size, err := number(in["size"])
		if err != nil {
			return nil, &transport.ActionError{Type: "InvalidInput", Message: "std.test_dict: size: " + err.Error()}
		}
		if size < 0 || size > maxTestDictSize {
			return nil, &transport.ActionError{Type: "InvalidInput", Message: fmt.Sprintf("std.test_dict: size %v is not between 0 and %d", size, maxTestDictSize)}
		}
		prefix, _ := in["key_prefix"].(string)
		out := make(map[string]any, int(size))
		for i := 0; i < int(size); i++ {
			out[fmt.Sprintf("%s%d", prefix, i)] = in["val"]
		}
		return out, nil
	},
}

// builtinSpecs describe the built-in actions with Mistral's parameter
// names and defaults (the input strings of Mistral's GET /v2/actions), so
// the API can list them and the engine can check a task's input.
var builtinSpecs = map[string]transport.ActionSpec{
	"std.echo": {Description: "Returns the value given as output.", Input: json.RawMessage(`{"type":"object",` +
		`"properties":{"output":{"description":"the value to return"},"delay":{"type":"number","default":0,"description":"seconds to wait first (ignored)"}},` +
		`"required":["output"],"additionalProperties":false}`)},
	"std.noop": {Description: "Does nothing and returns null.", Input: json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)},
	"std.async_noop": {Description: "Does nothing and stays running until its result is given through PUT /v2/action_executions/{id}.",
		Async: true, Input: json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)},
	"std.fail": {Description: "Always fails, with error_data as the task's error result.", Input: json.RawMessage(`{"type":"object",` +
		`"properties":{"error_data":{"default":null,"description":"the error result"}},"additionalProperties":false}`)},
	"std.sleep": {Description: "Waits the given number of seconds.", Cancellable: true, Input: json.RawMessage(`{"type":"object",` +
		`"properties":{"seconds":{"type":["number","string"],"default":1,"description":"how long to wait"}},"additionalProperties":false}`)},
	"std.test_dict": {Description: "Returns a dictionary of size entries key_prefix<i>: val.", Input: json.RawMessage(`{"type":"object",` +
		`"properties":{"size":{"type":["integer","string"],"default":0},"key_prefix":{"type":"string","default":""},"val":{"default":""}},"additionalProperties":false}`)},
}

// BuiltinSpecs describes every built-in action, sorted by name.
func BuiltinSpecs() []transport.ActionSpec {
	out := make([]transport.ActionSpec, 0, len(builtins))
	for _, n := range BuiltinActions() {
		s := builtinSpecs[n]
		s.Name = n
		out = append(out, s)
	}
	return out
}

// maxTestDictSize bounds std.test_dict, a test action that must not be a
// way to exhaust an executor host's memory.
const maxTestDictSize = 1_000_000

// BuiltinActions lists the built-in action names, sorted.
func BuiltinActions() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// builtinInput decodes a built-in action's input. Numbers stay
// json.Number, so that what std.echo (or std.fail's error_data) gives back
// is written with the digits it came with: an integer above 2^53, which
// Mistral's Python keeps exact, would lose its last digits as a float64.
func builtinInput(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		return nil, err
	}
	return in, nil
}

func number(v any) (float64, error) {
	switch n := v.(type) {
	case nil:
		return 0, nil
	case float64:
		return n, nil
	case json.Number:
		return n.Float64()
	case string:
		var f float64
		_, err := fmt.Sscan(strings.TrimSpace(n), &f)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", n)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%v is not a number", v)
}
