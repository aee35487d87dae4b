package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// Mistral checks an action's input before it builds the action
// (mistral_lib's ActionDescriptorBase.check_parameters): every parameter
// its Python class takes without a default must be given, and nothing
// else. A task that fails so shows, in its workflow's state_info and
// output, a message naming the action and that class:
//
//	Invalid input [name=std.echo, class=mistral.actions.std_actions.EchoAction, missing=['output'], unexpected=['wrong_input']]
//
// Sirocco words the same check the same way for the actions Mistral has a
// class for: the std actions (the built-ins and the http and shell
// plugins serve them under Mistral's names and parameters) and ad-hoc
// actions. A plugin's own actions have no Python class; their input
// errors keep Sirocco's wording, which names the field and what it takes.

// mistralClasses is the Python class of each std action in Mistral 15
// (the mistral.actions entry points of its setup.cfg).
var mistralClasses = map[string]string{
	"std.async_noop":   "mistral.actions.std_actions.AsyncNoOpAction",
	"std.echo":         "mistral.actions.std_actions.EchoAction",
	"std.email":        "mistral.actions.std_actions.SendEmailAction",
	"std.fail":         "mistral.actions.std_actions.FailAction",
	"std.http":         "mistral.actions.std_actions.HTTPAction",
	"std.javascript":   "mistral.actions.std_actions.JavaScriptAction",
	"std.js":           "mistral.actions.std_actions.JavaScriptAction",
	"std.mistral_http": "mistral.actions.std_actions.MistralHTTPAction",
	"std.noop":         "mistral.actions.std_actions.NoOpAction",
	"std.sleep":        "mistral.actions.std_actions.SleepAction",
	"std.ssh":          "mistral.actions.std_actions.SSHAction",
	"std.ssh_proxied":  "mistral.actions.std_actions.SSHProxiedAction",
	"std.test_dict":    "mistral.actions.std_actions.TestDictAction",
}

// adhocClass is the class Mistral names for every ad-hoc action
// (AdHocActionDescriptor.action_class_name).
const adhocClass = "mistral.actions.adhoc.AdHocAction"

// invalidInput is check_parameters' message. missing follows the order
// the action declares its parameters in; unexpected, in Mistral the order
// of the given input, is sorted here, since the input reaches the engine
// as a map.
func invalidInput(name, class string, missing, unexpected []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Invalid input [name=%s, class=%s", name, class)
	if len(missing) > 0 {
		b.WriteString(", missing=" + pyStrings(missing))
	}
	if len(unexpected) > 0 {
		b.WriteString(", unexpected=" + pyStrings(unexpected))
	}
	b.WriteByte(']')
	return b.String()
}

// pyStrings is Python's str() of a list of strings: ['a', "b'c"].
func pyStrings(s []string) string {
	l := make([]any, len(s))
	for i, e := range s {
		l[i] = e
	}
	return yaql.PyRepr(l)
}

// inputMismatch is an action input that misses parameters or gives ones
// the action does not take, worded as Mistral words it (invalidInput).
type inputMismatch struct{ msg string }

func (e *inputMismatch) Error() string { return e.msg }

// schemaMismatch is check_parameters against an action's input JSON
// Schema, for an action Mistral has a class for: the required properties
// in is missing, in the schema's order, and, when the schema takes no
// other properties, the ones in has that it does not declare. nil when
// the input has neither, or Mistral knows no class of that name.
func schemaMismatch(action string, s map[string]any, in any) *inputMismatch {
	class, ok := mistralClasses[action]
	m, isMap := in.(map[string]any)
	if !ok || !isMap {
		return nil
	}
	var missing, unexpected []string
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if name, _ := r.(string); name != "" {
				if _, given := m[name]; !given {
					missing = append(missing, name)
				}
			}
		}
	}
	if ap, ok := s["additionalProperties"].(bool); ok && !ap {
		props, _ := s["properties"].(map[string]any)
		for k := range m {
			if _, declared := props[k]; !declared {
				unexpected = append(unexpected, k)
			}
		}
		sort.Strings(unexpected)
	}
	if len(missing) == 0 && len(unexpected) == 0 {
		return nil
	}
	return &inputMismatch{invalidInput(action, class, missing, unexpected)}
}

// compareParams is Mistral's _compare_parameters for declared parameters:
// those without a default that input lacks, in declared order, and the
// names in input that are not declared, sorted.
func compareParams(params []lang.Param, input map[string]any) (missing, unexpected []string) {
	declared := make(map[string]bool, len(params))
	for _, p := range params {
		declared[p.Name] = true
		if _, ok := input[p.Name]; !ok && !p.HasDefault {
			missing = append(missing, p.Name)
		}
	}
	for k := range input {
		if !declared[k] {
			unexpected = append(unexpected, k)
		}
	}
	sort.Strings(unexpected)
	return missing, unexpected
}

// instantiateFailed is Mistral's message for an ad-hoc action whose base
// action cannot be built (RegularAction.schedule): a base-input that
// fails, a base that does not exist, a base that refuses the input it is
// given. Mistral keeps no cause in it. definition is the ad-hoc action's
// stored text; input is the input it was given, with its defaults after
// (AdHocActionDescriptor.instantiate adds them to the very dict the
// message prints).
func instantiateFailed(name, definition string, input yaql.OrderedDict) string {
	return fmt.Sprintf("Failed to instantiate an action [action_desc=AdHoc action [name=%s, definition=%s], input_dict=%s]",
		name, definition, yaql.PyStr(input))
}

// givenThenDefaults orders an ad-hoc action's input as Mistral's dict
// holds it after instantiate: the given parameters first, then those its
// defaults filled in. Python keeps the given ones in the order the task
// wrote them, which a map has lost; declared order stands in for it.
func givenThenDefaults(params []lang.Param, given, input map[string]any) yaql.OrderedDict {
	d := yaql.NewOrderedDict()
	for _, p := range params {
		if _, ok := given[p.Name]; ok {
			d.Set(p.Name, input[p.Name])
		}
	}
	for _, p := range params {
		if _, ok := given[p.Name]; !ok {
			if v, ok := input[p.Name]; ok {
				d.Set(p.Name, v)
			}
		}
	}
	return d
}
