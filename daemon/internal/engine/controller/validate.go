package controller

import (
	"fmt"
	"strconv"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// policyField is one value Mistral's before_task_start evaluates and
// checks against its policy's JSON schema.
type policyField struct {
	class, prop string
	value       any
	boolean     bool // {'type': 'boolean'}; otherwise a non-negative integer
}

// checkPolicies evaluates a task's policies before it starts and checks
// their types, as Mistral's TaskPolicy.before_task_start does for every
// policy it builds (pause-before, wait-before, wait-after, retry, timeout,
// concurrency; fail-on is evaluated only after completion). A wrong value
// fails the task with Mistral's message. Mistral builds a wait or timeout
// policy only for an expression or a positive number, so a literal 0 or
// less is no policy at all.
func (c *Controller) checkPolicies(s *State, spec *lang.Task, env *expr.Env) error {
	pol := policiesOf(s.Spec, spec)
	var fields []policyField
	if pol.PauseBefore != nil && pol.PauseBefore != false {
		fields = append(fields, policyField{class: "PauseBeforePolicy", prop: "expr", value: pol.PauseBefore, boolean: true})
	}
	for _, p := range []struct {
		class string
		v     any
	}{{"WaitBeforePolicy", pol.WaitBefore}, {"WaitAfterPolicy", pol.WaitAfter}} {
		if built(p.v) {
			fields = append(fields, policyField{class: p.class, prop: "delay", value: p.v})
		}
	}
	if r := pol.Retry; r != nil {
		fields = append(fields, policyField{class: "RetryPolicy", prop: "delay", value: orDefault(r.Delay, int64(0))},
			policyField{class: "RetryPolicy", prop: "count", value: orDefault(r.Count, int64(0))})
	}
	if built(pol.Timeout) {
		fields = append(fields, policyField{class: "TimeoutPolicy", prop: "delay", value: pol.Timeout})
	}
	if pol.Concurrency != nil && expr.Truthy(pol.Concurrency) {
		fields = append(fields, policyField{class: "ConcurrencyPolicy", prop: "concurrency", value: pol.Concurrency})
	}
	for _, f := range fields {
		v := f.value
		if str, ok := v.(string); ok {
			r, err := expr.Eval(str, env)
			if err != nil {
				return err
			}
			v = r
		}
		if msg := schemaError(v, f.boolean); msg != "" {
			schema := "{'minimum': 0, 'type': 'integer'}"
			validator := "type"
			if f.boolean {
				schema = "{'type': 'boolean'}"
			} else if _, isInt := v.(int64); isInt {
				validator = "minimum"
			}
			return fmt.Errorf("Invalid data type in %s: %s\n\nFailed validating '%s' in schema['properties']['%s']:\n    %s\n\nOn instance['%s']:\n    %s. Value(s) can be shown after YAQL evaluating. If you use YAQL here, please correct it.",
				f.class, msg, validator, f.prop, schema, f.prop, pyRepr(v))
		}
	}
	return nil
}

// built tells whether Mistral builds a wait or timeout policy for v: for
// an expression, or a number above 0.
func built(v any) bool {
	switch n := v.(type) {
	case string:
		return true
	case int64:
		return n > 0
	case float64:
		return n > 0
	}
	return false
}

// schemaError is jsonschema's message for v against {'type': 'integer',
// 'minimum': 0} (or {'type': 'boolean'}), "" when it fits.
func schemaError(v any, boolean bool) string {
	if boolean {
		if _, ok := v.(bool); ok {
			return ""
		}
		return pyRepr(v) + " is not of type 'boolean'"
	}
	n, ok := v.(int64)
	if !ok {
		return pyRepr(v) + " is not of type 'integer'"
	}
	if n < 0 {
		return pyRepr(v) + " is less than the minimum of 0"
	}
	return ""
}

// pyRepr is Python's repr() of a value, for messages that quote one.
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + x + "'"
	case nil:
		return "None"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return pyStr(v)
}
