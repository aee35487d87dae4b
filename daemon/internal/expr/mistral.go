package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// MistralHost is what Mistral's expression functions (task(), tasks(),
// execution(), env(), global()) read. Mistral answers them from its
// database; Sirocco's engine answers them from the state of the execution
// being decided, so the host is a small read-only view of that state.
// Every map returned uses Mistral's field names (see MistralTaskFields).
type MistralHost interface {
	// CurrentTask is the task execution whose expression is being
	// evaluated; ok is false outside a task (workflow output, vars).
	CurrentTask() (task map[string]any, ok bool)
	// TaskByName is the latest execution of the named task in this
	// workflow execution, as Mistral's task(name) takes the last one.
	TaskByName(name string) (task map[string]any, ok bool)
	// Tasks answers tasks(workflow_execution_id, recursive, state, flat).
	Tasks(q TasksQuery) ([]map[string]any, error)
	// Execution answers execution().
	Execution() (map[string]any, error)
	// Env is the execution's environment (Mistral's __env); nil when the
	// execution has none.
	Env() map[string]any
	// Global is a variable published globally in this execution; ok is
	// false when there is none (global() then yields null, as in Mistral).
	Global(name string) (value any, ok bool)
}

// TasksQuery is the arguments of Mistral's tasks() function.
type TasksQuery struct {
	WorkflowExecutionID string // "" means every execution the host knows
	Recursive           bool   // descend into sub-workflow executions
	State               string // "" means any state
	Flat                bool   // leave out workflow tasks whose sub-execution shares their state
}

// MistralTaskFields are the keys of a task as task() and tasks() return it
// (mistral/expressions/std_functions.py, _convert_to_user_model).
var MistralTaskFields = []string{"id", "name", "spec", "state", "state_info", "result",
	"published", "type", "workflow_execution_id", "created_at", "updated_at"}

// MistralExecutionFields are the keys of an execution as execution()
// returns it (std_functions.py, execution_).
var MistralExecutionFields = []string{"id", "name", "spec", "input", "params",
	"created_at", "updated_at", "root_execution_id"}

// MistralParams names the parameters of Mistral's functions so that YAQL
// keyword arguments (tasks(state => 'ERROR')) bind as in Mistral.
var MistralParams = map[string][]string{
	"task":       {"task_name"},
	"tasks":      {"workflow_execution_id", "recursive", "state", "flat"},
	"global":     {"var_name"},
	"json_pp":    {"data"},
	"json_dump":  {"data"},
	"json_parse": {"data"},
	"yaml_dump":  {"data"},
	"yaml_parse": {"data"},
}

// MistralFuncs returns Mistral's expression functions bound to host; data
// is the expression's context (`$` in YAQL, `_` in Jinja), which json_pp()
// prints when given nothing. The pure ones (json_*, yaml_*, uuid) need no
// host; host may be nil if only they are used.
func MistralFuncs(host MistralHost, data any) map[string]Func {
	needHost := func(name string) error {
		if host == nil {
			return fmt.Errorf("%s() is not available here", name)
		}
		return nil
	}
	return map[string]Func{
		"task": func(args ...any) (any, error) {
			if err := arity("task", args, 0, 1); err != nil {
				return nil, err
			}
			if err := needHost("task"); err != nil {
				return nil, err
			}
			name := ""
			if len(args) == 1 && args[0] != nil {
				s, ok := args[0].(string)
				if !ok {
					return nil, fmt.Errorf("task name must be a string, got %s", typeWord(args[0]))
				}
				name = s
			}
			// Mistral: with no name, or the current task's own name, the
			// current execution of the task; otherwise the last by name.
			if cur, ok := host.CurrentTask(); ok && (name == "" || cur["name"] == name) {
				return Layer(cur, MistralTaskFields...), nil
			}
			if name == "" {
				return nil, errors.New("task() without a name is only valid inside a task")
			}
			t, ok := host.TaskByName(name)
			if !ok {
				return nil, nil
			}
			return Layer(t, MistralTaskFields...), nil
		},
		"tasks": func(args ...any) (any, error) {
			if err := arity("tasks", args, 0, 4); err != nil {
				return nil, err
			}
			if err := needHost("tasks"); err != nil {
				return nil, err
			}
			var q TasksQuery
			for i, a := range args {
				if a == nil {
					continue
				}
				switch i {
				case 0, 2:
					s, ok := a.(string)
					if !ok {
						return nil, fmt.Errorf("tasks(): %s must be a string, got %s", MistralParams["tasks"][i], typeWord(a))
					}
					if i == 0 {
						q.WorkflowExecutionID = s
					} else {
						q.State = s
					}
				case 1, 3:
					b := yaql.Truthy(a)
					if i == 1 {
						q.Recursive = b
					} else {
						q.Flat = b
					}
				}
			}
			ts, err := host.Tasks(q)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(ts))
			for i, t := range ts {
				out[i] = Layer(t, MistralTaskFields...)
			}
			return out, nil
		},
		"execution": func(args ...any) (any, error) {
			if err := arity("execution", args, 0, 0); err != nil {
				return nil, err
			}
			if err := needHost("execution"); err != nil {
				return nil, err
			}
			e, err := host.Execution()
			if err != nil || e == nil {
				return nil, err
			}
			return Layer(e, MistralExecutionFields...), nil
		},
		"env": func(args ...any) (any, error) {
			if err := arity("env", args, 0, 0); err != nil {
				return nil, err
			}
			if host == nil {
				return nil, nil
			}
			e := host.Env()
			if e == nil {
				return nil, nil
			}
			return e, nil
		},
		"global": func(args ...any) (any, error) {
			if err := arity("global", args, 1, 1); err != nil {
				return nil, err
			}
			if err := needHost("global"); err != nil {
				return nil, err
			}
			name, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("global(): the name must be a string, got %s", typeWord(args[0]))
			}
			v, _ := host.Global(name)
			return v, nil
		},
		"uuid": func(args ...any) (any, error) {
			if err := arity("uuid", args, 0, 0); err != nil {
				return nil, err
			}
			return uuid.NewString(), nil
		},
		"json_parse": func(args ...any) (any, error) {
			if err := arity("json_parse", args, 1, 1); err != nil {
				return nil, err
			}
			s, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("json_parse(): the JSON object must be str, not %s", typeWord(args[0]))
			}
			return parseJSONOrdered([]byte(s))
		},
		"json_dump": func(args ...any) (any, error) {
			if err := arity("json_dump", args, 1, 1); err != nil {
				return nil, err
			}
			return PyJSON(args[0], 4)
		},
		"json_pp": func(args ...any) (any, error) {
			if err := arity("json_pp", args, 0, 1); err != nil {
				return nil, err
			}
			v := data
			if len(args) == 1 && yaql.Truthy(args[0]) {
				v = args[0] // Mistral: `data or context`
			}
			s, err := PyJSON(v, 4)
			if err != nil {
				return nil, err
			}
			return strings.ReplaceAll(strings.ReplaceAll(s, `\n`, "\n"), " \n", "\n"), nil
		},
		"yaml_parse": func(args ...any) (any, error) {
			if err := arity("yaml_parse", args, 1, 1); err != nil {
				return nil, err
			}
			s, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("yaml_parse(): needs a string, got %s", typeWord(args[0]))
			}
			return yamlParse(s)
		},
		"yaml_dump": func(args ...any) (any, error) {
			if err := arity("yaml_dump", args, 1, 1); err != nil {
				return nil, err
			}
			return PyYAML(args[0])
		},
	}
}

func arity(name string, args []any, lo, hi int) error {
	if len(args) < lo || len(args) > hi {
		switch {
		case lo == hi:
			return fmt.Errorf("%s() takes %d arguments, got %d", name, lo, len(args))
		default:
			return fmt.Errorf("%s() takes %d to %d arguments, got %d", name, lo, hi, len(args))
		}
	}
	return nil
}

// yamlParse is yaml.safe_load for the JSON value model. Mistral hands the
// result to JSON, so values YAML has and JSON lacks (timestamps, non-string
// keys) are refused with an error rather than silently changed. Mappings
// come out as yaql.OrderedDict, in document order.
func yamlParse(s string) (any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		return nil, fmt.Errorf("yaml_parse(): %w", err)
	}
	if n.Kind == 0 {
		return nil, nil
	}
	return yamlValue(&n, 0)
}

const maxYAMLDepth = 200

func yamlValue(n *yaml.Node, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, errors.New("yaml_parse(): nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		// PyYAML builds a dict in document order.
		out := yaql.NewOrderedDict()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := yamlValue(n.Content[i], depth+1)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				// JSON (and so Mistral's storage) turns keys into strings.
				ks = yaql.PyJSONKey(k)
			}
			v, err := yamlValue(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			out.Set(ks, v)
		}
		return out, nil
	case yaml.ScalarNode:
		if n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			// A plain scalar means what it means in YAML 1.1, as PyYAML
			// reads it: yes and on are true, 010 is 8, 1e3 is a string.
			v, typed := pyyamlResolve(n.Value)
			if _, isStr := v.(string); typed && isStr && yamlIntRe.MatchString(n.Value) {
				return nil, fmt.Errorf("yaml_parse(): line %d: integer %s does not fit in 64 bits", n.Line, n.Value)
			}
			return v, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("yaml_parse(): %w", err)
		}
		r, err := yaql.Normalize(v)
		if err != nil {
			return nil, fmt.Errorf("yaml_parse(): line %d: %w", n.Line, err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("yaml_parse(): unsupported YAML node at line %d", n.Line)
}

func typeWord(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// maxJSONDepth is about where Python's json.loads reaches its recursion
// limit.
const maxJSONDepth = 1000

// FromJSONOrdered decodes JSON as FromJSON does, except that objects
// keep their key order (yaql.OrderedDict): what a host function returns
// for a value whose order Mistral shows, such as a definition's spec.
func FromJSONOrdered(b []byte) (any, error) { return parseJSONOrdered(b) }

// parseJSONOrdered is json.loads as Mistral's json_parse runs it: objects
// keep their key order (yaql.OrderedDict; a repeated key keeps its first
// place and its last value), integers are int64, other numbers float64.
func parseJSONOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := orderedJSON(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("decode JSON: trailing data after the value")
	}
	return v, nil
}

func orderedJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := orderedJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token() // ]
			return out, err
		case '{':
			out := yaql.NewOrderedDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", kt)
				}
				v, err := orderedJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out.Set(k, v)
			}
			_, err := dec.Token() // }
			return out, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return fromNumbers(t)
	}
	return tok, nil // string, bool or nil
}
