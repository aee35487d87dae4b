package lang

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ParseWorkflows reads and validates a workflow document (what Mistral's
// POST /v2/workflows accepts: `version: '2.0'` and one or more workflows).
// It applies Mistral 15's rules (mistral/lang/v2) and reports every problem
// it finds, not only the first, as an ErrorList sorted by position.
func ParseWorkflows(src []byte, opts Options) (*Document, error) {
	return parse(src, opts, (*parser).document, func(d *Document, w ErrorList) { d.Warnings = w })
}

// parse is what every entry point shares: load the YAML, build the
// document, and return every error sorted by position, or the document
// with its warnings.
func parse[T any](src []byte, opts Options, build func(*parser, *node) T, warn func(T, ErrorList)) (T, error) {
	var zero T
	p := &parser{opts: opts}
	root, ok := p.load(src)
	if !ok {
		return zero, p.errs
	}
	doc := build(p, root)
	if len(p.errs) > 0 {
		p.errs.sort()
		return zero, p.errs
	}
	p.warns.sort()
	warn(doc, p.warns)
	return doc, nil
}

// load reads the YAML of a definition; on a syntax error it records
// the error and returns false.
func (p *parser) load(src []byte) (*node, bool) {
	root, err := parseYAML(src)
	if err == nil {
		return root, true
	}
	var ye *yamlError
	if errors.As(err, &ye) {
		p.errs = append(p.errs, &Error{Source: p.opts.Source, Line: ye.line, Col: ye.col, Msg: ye.msg})
	} else {
		p.errs = append(p.errs, &Error{Source: p.opts.Source, Line: 1, Col: 1, Msg: err.Error()})
	}
	return nil, false
}

// parser collects errors while walking a document; wf and task name the
// place being read, for error messages.
type parser struct {
	opts  Options
	errs  ErrorList
	warns ErrorList
	wf    string
	task  string
}

// warnf records a warning: something Mistral accepts, so Sirocco must
// too, but that the author should hear about.
func (p *parser) warnf(n *node, format string, args ...any) {
	errs := p.errs
	p.errs = nil
	p.errorf(n, format, args...)
	p.warns = append(p.warns, p.errs...)
	p.errs = errs
}

func (p *parser) errorf(n *node, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.line > 0 {
		line, col = n.line, n.col
	}
	p.errs = append(p.errs, &Error{
		Source:   p.opts.Source,
		Line:     line,
		Col:      col,
		Workflow: p.wf,
		Task:     p.task,
		Msg:      fmt.Sprintf(format, args...),
	})
}

// describe names a value's type for an error message, quoting short
// strings so that the author recognises them.
func describe(n *node) string {
	switch n.kind {
	case kindStr:
		s := n.val.(string)
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		return fmt.Sprintf("string %q", s)
	case kindNull:
		return "null (nothing)"
	case kindBool, kindInt, kindFloat:
		return fmt.Sprintf("%s %v", n.kind, n.val)
	}
	return "a " + n.kind.String()
}

func (p *parser) document(root *node) *Document {
	if root.kind != kindMap {
		p.errorf(root, "a workflow document must be a mapping with 'version' and workflows, not %s", describe(root))
		return nil
	}
	doc := &Document{}
	ver := root.get("version")
	if ver == nil {
		hint := ""
		for _, k := range root.keys {
			if s := k.keyStr(); s != "version" && levenshtein(s, "version") <= 2 {
				hint = fmt.Sprintf(" (is %q a misspelling of it?)", s)
			}
		}
		p.errorf(root, "missing required key 'version' (it must be '2.0')%s", hint)
	} else {
		doc.Version = p.version(ver)
	}
	for i, k := range root.keys {
		name := k.keyStr()
		if k.kind == kindStr && name == "version" {
			continue
		}
		if wf := p.workflow(name, k, root.vals[i]); wf != nil {
			doc.Workflows = append(doc.Workflows, wf)
		}
	}
	if len(root.keys) == 0 || (len(root.keys) == 1 && ver != nil) {
		p.errorf(root, "the document defines no workflow")
	}
	return doc
}

// version checks the document version. Mistral's schema accepts a
// non-empty string or a non-negative number; Mistral supports only 2.0, so
// the value must read as the float 2.0 ("2.0", "2", 2, 2.0), as Mistral's
// _get_spec_version requires.
func (p *parser) version(n *node) string {
	var s string
	ok := false
	switch n.kind {
	case kindStr:
		s = n.val.(string)
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		ok = err == nil && f == 2.0
	case kindInt:
		s = strconv.FormatInt(n.val.(int64), 10)
		ok = n.val.(int64) == 2
	case kindFloat:
		s = pyFloatRepr(n.val.(float64))
		ok = n.val.(float64) == 2.0
	}
	if !ok {
		p.errorf(n, "unsupported version %s: only '2.0' is supported", describe(n))
		return ""
	}
	return "2.0"
}

// Keys a workflow may hold. Mistral's merged workflow schema does not set
// additionalProperties, so it accepts other keys and ignores them; Sirocco
// warns about them (see warnKeys).
var workflowKeys = []string{"name", "version", "description", "tags", "type", "task-defaults",
	"input", "output", "output-on-error", "vars", "tasks"}

func (p *parser) workflow(name string, keyNode, n *node) *Workflow {
	p.wf, p.task = name, ""
	defer func() { p.wf, p.task = "", "" }()
	if name == "" {
		p.errorf(keyNode, "a workflow name must not be empty")
	}
	if n.kind != kindMap || len(n.keys) == 0 {
		p.errorf(n, "a workflow must be a non-empty mapping, not %s", describe(n))
		return nil
	}
	if isUUIDLike(name) {
		p.errorf(keyNode, "a workflow name cannot be in the format of a UUID")
	}
	wf := &Workflow{Name: name, Type: TypeDirect, Line: keyNode.line, Col: keyNode.col}
	p.warnKeys(n, workflowKeys)

	if t := n.get("type"); t != nil {
		switch t.str() {
		case TypeDirect, TypeReverse:
			wf.Type = t.str()
		default:
			p.errorf(t, "workflow type must be 'direct' or 'reverse', not %s", describe(t))
		}
	}
	if d := n.get("description"); d != nil {
		// Mistral's workflow schema does not check description (its own
		// meta schema replaces the one that would), so any value loads.
		if d.kind == kindStr && d.str() != "" {
			wf.Description = d.str()
		} else {
			p.warnf(d, "'description' is ignored: it should be a non-empty string, not %s", describe(d))
		}
	}
	if t := n.get("tags"); t != nil {
		wf.Tags, _ = p.uniqueStringList(t, "tags")
	}
	if in := n.get("input"); in != nil {
		wf.Input = p.params(in)
	}
	if o := n.get("output"); o != nil {
		if m, ok := p.nonEmptyDict(o, "output"); ok {
			wf.Output = m
			p.checkExprValues(o)
		}
	}
	if o := n.get("output-on-error"); o != nil {
		// Mistral does not validate expressions in output-on-error.
		if m, ok := p.nonEmptyDict(o, "output-on-error"); ok {
			wf.OutputOnError = m
		}
	}
	if v := n.get("vars"); v != nil {
		if m, ok := p.nonEmptyDict(v, "vars"); ok {
			wf.Vars = m
			p.checkExprValues(v)
		}
	}
	if td := n.get("task-defaults"); td != nil {
		if _, ok := p.nonEmptyDict(td, "task-defaults"); ok {
			wf.TaskDefaults = p.taskDefaults(td)
		}
	}
	tasks := n.get("tasks")
	switch {
	case tasks == nil:
		p.errorf(n, "missing required key 'tasks'")
	case tasks.kind != kindMap:
		p.errorf(tasks, "'tasks' must be a mapping of task name to task, not %s", describe(tasks))
	case len(tasks.keys) == 0:
		p.errorf(tasks, "the workflow has no tasks")
	default:
		for i, k := range tasks.keys {
			if t := p.taskSpec(wf.Type, k, tasks.vals[i]); t != nil {
				wf.Tasks = append(wf.Tasks, t)
			}
		}
		p.task = ""
		if wf.Type == TypeDirect {
			p.checkDirectGraph(wf, tasks)
		} else {
			p.checkReverseGraph(wf)
		}
	}
	wf.Source = workflowSource(name, wf.Type, n)
	return wf
}

// params reads a workflow input list: names, or one-key mappings giving a
// default.
func (p *parser) params(n *node) []Param {
	if n.kind != kindSeq || len(n.items) == 0 {
		p.errorf(n, "'input' must be a non-empty list of names or one-key mappings (name: default), not %s", describe(n))
		return nil
	}
	p.checkUnique(n, "input")
	var out []Param
	index := map[string]int{}
	add := func(prm Param) {
		// get_dict_from_entries: a later entry replaces an earlier one
		// and keeps its place.
		if i, ok := index[prm.Name]; ok {
			out[i] = prm
			return
		}
		index[prm.Name] = len(out)
		out = append(out, prm)
	}
	for _, it := range n.items {
		switch {
		case it.kind == kindStr && it.str() != "":
			add(Param{Name: it.str()})
		case it.kind == kindMap && len(it.keys) == 1:
			add(Param{Name: it.keys[0].keyStr(), Default: it.vals[0].value(), HasDefault: true})
		default:
			p.errorf(it, "an input entry must be a name or a one-key mapping (name: default), not %s", describe(it))
		}
	}
	return out
}

var taskCommonKeys = []string{"name", "version", "type", "description", "tags", "action", "workflow", "input",
	"with-items", "publish", "publish-on-error", "publish-on-skip", "retry", "wait-before",
	"wait-after", "timeout", "pause-before", "concurrency", "fail-on", "target", "keep-result",
	"safe-rerun"}
var directOnlyKeys = []string{"join", "on-complete", "on-success", "on-error", "on-skip"}
var reverseOnlyKeys = []string{"requires"}

// Task name limits: Mistral stores task names in 255 characters, and a
// join task's name with a 47-character suffix.
const (
	maxTaskName     = 255
	maxJoinTaskName = maxTaskName - 47
)

func (p *parser) taskSpec(wfType string, keyNode, n *node) *Task {
	name := keyNode.keyStr()
	p.task = name
	if n.kind != kindMap {
		p.errorf(n, "a task must be a mapping, not %s", describe(n))
		return nil
	}
	if len(n.keys) == 0 && wordRe.MatchString(name) {
		p.errorf(n, "a task must not be empty")
		return nil
	}
	if len([]rune(name)) > maxTaskName {
		p.errorf(keyNode, "a task name must not exceed %d characters", maxTaskName)
	}
	t := &Task{Name: name, Line: keyNode.line, Col: keyNode.col}
	allowed := append([]string{}, taskCommonKeys...)
	var other []string
	var otherNote string
	if wfType == TypeDirect {
		allowed = append(allowed, directOnlyKeys...)
		other, otherNote = reverseOnlyKeys, "only tasks of reverse workflows have 'requires'"
	} else {
		allowed = append(allowed, reverseOnlyKeys...)
		other, otherNote = directOnlyKeys, "reverse workflows have no '%s': use 'requires'"
	}
	p.checkKeysStrict(n, allowed, other, otherNote)

	if d := n.get("description"); d != nil {
		t.Description, _ = p.nonEmptyString(d, "description")
	}
	if tg := n.get("tags"); tg != nil {
		t.Tags, _ = p.uniqueStringList(tg, "tags")
	}
	act, wfl := n.get("action"), n.get("workflow")
	if act != nil && wfl != nil {
		p.errorf(n.getKey("workflow"), "a task must have either 'action' or 'workflow', not both")
	}
	var cmdNode *node
	if act != nil {
		if _, ok := p.nonEmptyString(act, "action"); ok {
			cmdNode = act
		}
	}
	if wfl != nil {
		if _, ok := p.nonEmptyString(wfl, "workflow"); ok && cmdNode == nil {
			cmdNode = wfl
		}
	}
	var input any
	if in := n.get("input"); in != nil {
		switch {
		case in.kind == kindMap && len(in.keys) > 0:
			input = in.value()
			p.checkExprValues(in)
		case in.kind == kindStr && in.str() != "":
			input = in.str()
			p.checkExpr(in, in.str())
		default:
			p.errorf(in, "'input' must be a non-empty mapping or an expression, not %s", describe(in))
		}
	}
	var params map[string]any
	var order []string
	if cmdNode != nil {
		cmd, prm, ord, ok := parseCmdAndInput(cmdNode.str())
		if !ok {
			p.errorf(cmdNode, "invalid action/workflow task property: %q", cmdNode.str())
		} else {
			params, order = prm, ord
			for _, k := range order {
				if s, isStr := prm[k].(string); isStr {
					p.checkExpr(cmdNode, s)
				}
			}
			if cmdNode == act {
				t.Action = cmd
			} else {
				t.Workflow = cmd
			}
		}
	} else if act == nil && wfl == nil {
		t.Action = "std.noop"
	}
	if len(params) > 0 {
		switch in := input.(type) {
		case nil:
			input = params
		case map[string]any:
			// merge_dicts(input, params): the inline values win.
			for k, v := range params {
				in[k] = v
			}
		case string:
			p.errorf(cmdNode, "inline parameters cannot be combined with an 'input' expression")
		}
	}
	t.Input = input
	if t.Input == nil {
		t.Input = map[string]any{}
	}

	if wi := n.get("with-items"); wi != nil {
		t.WithItems = p.withItems(wi)
	}
	t.Publish = p.publishDict(n, "publish")
	t.PublishOnError = p.publishDict(n, "publish-on-error")
	t.PublishOnSkip = p.publishDict(n, "publish-on-skip")
	t.Policies = p.policies(n)
	if tg := n.get("target"); tg != nil {
		t.Target, _ = p.nonEmptyString(tg, "target")
	}
	if k := n.get("keep-result"); k != nil {
		t.KeepResult = p.exprOrBool(k, "keep-result")
	}
	if s := n.get("safe-rerun"); s != nil {
		t.SafeRerun = p.exprOrBool(s, "safe-rerun")
	}

	if wfType == TypeDirect {
		if j := n.get("join"); j != nil {
			t.Join = p.join(j)
			if t.Join != 0 && len([]rune(name)) > maxJoinTaskName {
				p.errorf(keyNode, "the name of a join task must not exceed %d characters", maxJoinTaskName)
			}
		}
		t.OnSuccess, t.OnSuccessPublish = p.onClause(n, "on-success")
		t.OnError, t.OnErrorPublish = p.onClause(n, "on-error")
		t.OnComplete, t.OnCompletePublish = p.onClause(n, "on-complete")
		t.OnSkip, t.OnSkipPublish = p.onClause(n, "on-skip")
	} else if r := n.get("requires"); r != nil {
		t.Requires = p.stringOrList(r, "requires")
	}
	return t
}

var wordRe = regexp.MustCompile(`^[` + pyWordClass + `]+$`)

func (p *parser) join(n *node) int {
	switch {
	case n.kind == kindStr && n.str() == "all":
		return JoinAll
	case n.kind == kindStr && n.str() == "one":
		return 1
	}
	if i, ok := nonNegInt(n); ok {
		return int(i)
	}
	p.errorf(n, "'join' must be 'all', 'one' or a non-negative integer, not %s", describe(n))
	return 0
}

// nonNegInt is JSON Schema's non-negative "integer", which also takes a
// float with no fraction (jsonschema 4 does), but never a boolean.
func nonNegInt(n *node) (int64, bool) {
	switch n.kind {
	case kindInt:
		return n.val.(int64), n.val.(int64) >= 0
	case kindFloat:
		f := n.val.(float64)
		if f >= 0 && f == float64(int64(f)) {
			return int64(f), true
		}
	}
	return 0, false
}

func (p *parser) withItems(n *node) []WithItem {
	var items []*node
	switch {
	case n.kind == kindStr && n.str() != "":
		items = []*node{n}
	case n.kind == kindSeq && len(n.items) > 0:
		p.checkUnique(n, "with-items")
		items = n.items
	default:
		p.errorf(n, "'with-items' must be a string or a non-empty list of strings, not %s", describe(n))
		return nil
	}
	var out []WithItem
	for _, it := range items {
		if it.kind != kindStr || it.str() == "" {
			p.errorf(it, "'with-items' elements must be strings like 'x in <%% $.list %%>', not %s", describe(it))
			continue
		}
		m := withItemsRe.FindStringSubmatch(it.str())
		if m == nil {
			p.errorf(it, "wrong format of 'with-items': use 'var in [some, list]' or 'var in <%% $.array %%>', not %q", it.str())
			continue
		}
		wi := WithItem{Var: m[1]}
		p.checkExpr(it, m[2])
		if strings.HasPrefix(m[2], "[") {
			v, ok := pyJSONLoads(m[2])
			l, isList := v.([]any)
			if !ok || !isList {
				p.errorf(it, "invalid array in 'with-items': %s", m[2])
				continue
			}
			if l == nil {
				l = []any{}
			}
			wi.List = l
		} else {
			wi.Expr = m[2]
		}
		out = append(out, wi)
	}
	return out
}

// withItemsRe is WITH_ITEMS_PTRN, matched at the start only (re.match).
var withItemsRe = regexp.MustCompile(`^` + pyS + `*([` + pyWordClass + `\-]+)` + pyS + `*in` + pyS +
	`*(\[.+\]|` + jinjaPattern + `|` + yaqlPattern + `)`)

func (p *parser) publishDict(n *node, key string) map[string]any {
	v := n.get(key)
	if v == nil {
		return nil
	}
	m, ok := p.nonEmptyDict(v, key)
	if ok {
		p.checkExprValues(v)
	}
	return m
}

// policies reads the keys that tasks and task-defaults share.
func (p *parser) policies(n *node) Policies {
	var pol Policies
	if r := n.get("retry"); r != nil {
		pol.Retry = p.retry(r)
	}
	if v := n.get("wait-before"); v != nil {
		pol.WaitBefore = p.exprOrNonNegInt(v, "wait-before")
	}
	if v := n.get("wait-after"); v != nil {
		pol.WaitAfter = p.exprOrNonNegInt(v, "wait-after")
	}
	if v := n.get("timeout"); v != nil {
		pol.Timeout = p.exprOrNonNegInt(v, "timeout")
	}
	if v := n.get("concurrency"); v != nil {
		pol.Concurrency = p.exprOrNonNegInt(v, "concurrency")
	}
	if v := n.get("pause-before"); v != nil {
		pol.PauseBefore = p.exprOrBool(v, "pause-before")
	}
	if v := n.get("fail-on"); v != nil {
		pol.FailOn = p.exprOrBool(v, "fail-on")
	}
	return pol
}

var retryKeys = []string{"count", "delay", "break-on", "continue-on"}

// retry reads a retry policy: a mapping, or the one-line form
// `count=5 delay=10 break-on=<% ... %>` parsed as inline parameters.
func (p *parser) retry(n *node) *Retry {
	fields := map[string]*node{}
	switch {
	case n.kind == kindMap:
		p.checkKeysStrict(n, retryKeys, nil, "")
		for _, k := range retryKeys {
			if v := n.get(k); v != nil {
				fields[k] = v
			}
		}
	case n.kind == kindStr && n.str() != "":
		_, params, _, ok := parseCmdAndInput(n.str())
		if !ok {
			p.errorf(n, "invalid retry policy %q", n.str())
			return nil
		}
		for k, v := range params {
			if !contains(retryKeys, k) {
				p.errorf(n, "unknown retry parameter %q%s", k, didYouMean(k, retryKeys))
				continue
			}
			fields[k] = valueNode(v, n)
		}
	default:
		p.errorf(n, "'retry' must be a mapping with count and delay, or a string like 'count=3 delay=1', not %s", describe(n))
		return nil
	}
	r := &Retry{}
	ok := true
	for _, k := range []string{"count", "delay"} {
		v := fields[k]
		if v == nil {
			p.errorf(n, "retry: missing required key '%s'", k)
			ok = false
			continue
		}
		val := p.exprOrNonNegInt(v, "retry "+k)
		if k == "count" {
			r.Count = val
		} else {
			r.Delay = val
		}
	}
	for _, k := range []string{"break-on", "continue-on"} {
		v := fields[k]
		if v == nil {
			continue
		}
		if v.kind != kindStr || !isExpression(v.str()) {
			p.errorf(v, "retry %s must be an expression, not %s", k, describe(v))
			ok = false
			continue
		}
		p.checkExpr(v, v.str())
		if k == "break-on" {
			r.BreakOn = v.str()
		} else {
			r.ContinueOn = v.str()
		}
	}
	if !ok {
		return nil
	}
	return r
}

// valueNode wraps a value parsed from an inline string as a node placed
// at that string, so that it is checked like a YAML value.
func valueNode(v any, at *node) *node {
	n := &node{line: at.line, col: at.col, val: v}
	switch t := v.(type) {
	case nil:
		n.kind = kindNull
	case bool:
		n.kind = kindBool
	case int64:
		n.kind = kindInt
	case float64:
		n.kind = kindFloat
	case string:
		n.kind = kindStr
	case []any:
		n.kind = kindSeq
		for _, e := range t {
			n.items = append(n.items, valueNode(e, at))
		}
		n.val = nil
	case map[string]any:
		n.kind = kindMap
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.keys = append(n.keys, &node{kind: kindStr, val: k, line: at.line, col: at.col})
			n.vals = append(n.vals, valueNode(t[k], at))
		}
		n.val = nil
	}
	return n
}

var taskDefaultsKeys = []string{"name", "version", "description", "tags", "retry", "wait-before", "wait-after",
	"timeout", "pause-before", "concurrency", "fail-on", "on-complete", "on-success", "on-error",
	"on-skip", "safe-rerun", "requires"}

func (p *parser) taskDefaults(n *node) *TaskDefaults {
	p.task = ""
	p.checkKeysStrict(n, taskDefaultsKeys, []string{"keep-result", "target"},
		"'%s' cannot be set in task-defaults, only in each task")
	td := &TaskDefaults{Policies: p.policies(n)}
	if s := n.get("safe-rerun"); s != nil {
		td.SafeRerun = p.exprOrBool(s, "safe-rerun")
	}
	if r := n.get("requires"); r != nil {
		td.Requires = p.stringOrList(r, "requires")
	}
	td.OnSuccess, td.OnSuccessPublish = p.onClause(n, "on-success")
	td.OnError, td.OnErrorPublish = p.onClause(n, "on-error")
	td.OnComplete, td.OnCompletePublish = p.onClause(n, "on-complete")
	td.OnSkip, td.OnSkipPublish = p.onClause(n, "on-skip")
	return td
}

// stringOrList reads 'requires': one name or a list of unique names.
func (p *parser) stringOrList(n *node, what string) []string {
	if n.kind == kindStr && n.str() != "" {
		return []string{n.str()}
	}
	l, _ := p.uniqueStringList(n, what)
	return l
}

// Patterns of on_clause.NEXT_TASK: a name, `name key=value`, or
// `name(key=value)`. A string must match exactly one of them.
var nextTaskRes = []*regexp.Regexp{
	regexp.MustCompile(`^[^` + pySpaceSet + `]+$`),
	regexp.MustCompile(`^[` + pyWordClass + `]+ [` + pyWordClass + `]+=(.*)$`),
	regexp.MustCompile(`^[` + pyWordClass + `]+\([` + pyWordClass + `]+=(.*)\)$`),
}

func nextTaskMatches(s string) int {
	c := 0
	for _, re := range nextTaskRes {
		if re.MatchString(s) {
			c++
		}
	}
	return c
}

var onClauseAdvancedKeys = []string{"publish", "next"}

// onClause reads on-success / on-error / on-complete / on-skip: a task
// name, a list of names and {name: guard} mappings, or the advanced form
// {publish: {branch, global, atomic}, next: ...}.
func (p *parser) onClause(n *node, key string) ([]Transition, *ScopedPublish) {
	v := n.get(key)
	if v == nil {
		return nil, nil
	}
	if v.kind == kindMap {
		// Mistral reads every mapping as the advanced form, even a
		// one-key {task: guard} that its schema also accepts: then it
		// has no 'next' and leads nowhere.
		if len(v.keys) == 1 && v.get("publish") == nil && v.get("next") == nil {
			if v.vals[0].kind == kindStr && isExpression(v.vals[0].str()) {
				p.warnf(v, "%s: a single {task: guard} mapping leads nowhere (Mistral reads it as {publish, next}); write it as a list item: '- %s: ...'", key, v.keys[0].keyStr())
				return nil, nil
			}
		}
		if len(v.keys) == 0 {
			p.errorf(v, "'%s' must not be empty", key)
			return nil, nil
		}
		p.checkKeysStrict(v, onClauseAdvancedKeys, nil, "")
		var pub *ScopedPublish
		if pn := v.get("publish"); pn != nil {
			pub = p.scopedPublish(pn, key)
		}
		var next []Transition
		if nx := v.get("next"); nx != nil {
			next = p.nextClause(nx, key, false)
		}
		return next, pub
	}
	return p.nextClause(v, key, true), nil
}

func (p *parser) scopedPublish(n *node, key string) *ScopedPublish {
	if n.kind != kindMap {
		p.errorf(n, "%s publish must be a mapping with branch, global or atomic, not %s", key, describe(n))
		return nil
	}
	p.checkKeysStrict(n, []string{"branch", "global", "atomic"}, nil, "")
	sp := &ScopedPublish{}
	sp.Branch = p.publishDict(n, "branch")
	sp.Global = p.publishDict(n, "global")
	sp.Atomic = p.publishDict(n, "atomic")
	if sp.Branch == nil && sp.Global == nil && sp.Atomic == nil {
		p.errorf(n, "%s publish: either 'branch', 'global' or 'atomic' must be specified", key)
		return nil
	}
	return sp
}

// nextClause reads the transitions of an on-* clause or of its 'next'.
func (p *parser) nextClause(n *node, key string, top bool) []Transition {
	var entries []*node
	switch n.kind {
	case kindStr:
		entries = []*node{n}
	case kindSeq:
		if len(n.items) == 0 {
			p.errorf(n, "'%s' must not be an empty list", key)
			return nil
		}
		p.checkUnique(n, key)
		entries = n.items
	case kindMap:
		// Only under 'next': {task: guard}.
		entries = []*node{n}
	default:
		p.errorf(n, "'%s' must be a task name, a list of task names and {task: guard} mappings, or {publish, next}, not %s", key, describe(n))
		return nil
	}
	var out []Transition
	for _, e := range entries {
		var nameNode *node
		guard := ""
		switch {
		case e.kind == kindStr:
			if nextTaskMatches(e.str()) != 1 {
				p.errorf(e, "%s: %q is not a task name, 'name key=value' or 'name(key=value)'", key, e.str())
				continue
			}
			nameNode = e
		case e.kind == kindMap && len(e.keys) == 1:
			nameNode = e.keys[0]
			g := e.vals[0]
			if nextTaskMatches(nameNode.keyStr()) > 0 && (g.kind != kindStr || !isExpression(g.str())) {
				p.errorf(g, "%s: the condition of %q must be an expression (<%% ... %%> or {{ ... }}), not %s", key, nameNode.keyStr(), describe(g))
				continue
			}
			if g.kind == kindStr {
				guard = g.str()
			}
		default:
			p.errorf(e, "%s: expected a task name or a one-key mapping {task: guard}, not %s", key, describe(e))
			continue
		}
		raw := nameNode.keyStr()
		name, params, _, ok := parseCmdAndInput(raw)
		if !ok {
			p.errorf(nameNode, "%s: invalid transition %q", key, raw)
			continue
		}
		tr := Transition{Guard: guard, Line: nameNode.line, Col: nameNode.col}
		switch name {
		case CmdFail, CmdSucceed, CmdPause, CmdNoop:
			tr.Command = name
			if m, ok := params["msg"]; ok && name != CmdNoop {
				tr.Msg = pyStr(m)
			}
		default:
			tr.Task = name
		}
		// Mistral validates the task or command name and the guard, not
		// a command's parameters (fail msg="<% ... %>" loads as it is).
		p.checkExpr(nameNode, name)
		p.checkExpr(e, guard)
		out = append(out, tr)
	}
	return out
}

// pyStr renders an inline parameter value as Python's str() would.
func pyStr(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "None"
	case bool:
		if t {
			return "True"
		}
		return "False"
	case float64:
		return pyFloatRepr(t)
	}
	return fmt.Sprint(v)
}

// outbound returns the transitions that leave a task: its own clause, or
// the task-defaults clause without the task itself (Mistral's
// get_on_*_clause).
func outbound(wf *Workflow, t *Task) []Transition {
	var out []Transition
	pick := func(own, def []Transition) {
		if len(own) > 0 {
			out = append(out, own...)
			return
		}
		for _, tr := range def {
			if tr.Task+tr.Command != t.Name {
				out = append(out, tr)
			}
		}
	}
	var td TaskDefaults
	if wf.TaskDefaults != nil {
		td = *wf.TaskDefaults
	}
	pick(t.OnError, td.OnError)
	pick(t.OnSuccess, td.OnSuccess)
	pick(t.OnComplete, td.OnComplete)
	pick(t.OnSkip, td.OnSkip)
	return out
}

// checkDirectGraph applies DirectWorkflowSpec.validate_semantics: every
// transition leads to a task or an engine command, some task has no
// inbound transition, and joins have enough inbound tasks.
func (p *parser) checkDirectGraph(wf *Workflow, tasks *node) {
	names := map[string]bool{}
	for _, t := range wf.Tasks {
		names[t.Name] = true
	}
	inbound := map[string]map[string]bool{}
	for _, t := range wf.Tasks {
		p.task = t.Name
		for _, tr := range outbound(wf, t) {
			if tr.Command != "" {
				// An engine command name counts as a (missing) task
				// for the inbound count, as in Mistral.
				if inbound[tr.Command] == nil {
					inbound[tr.Command] = map[string]bool{}
				}
				inbound[tr.Command][t.Name] = true
				continue
			}
			if !names[tr.Task] {
				at := &node{line: tr.Line, col: tr.Col}
				p.errorf(at, "transition to task %q, which does not exist%s", tr.Task, didYouMean(tr.Task, keysOf(names)))
				continue
			}
			if inbound[tr.Task] == nil {
				inbound[tr.Task] = map[string]bool{}
			}
			inbound[tr.Task][t.Name] = true
		}
	}
	p.task = ""
	start := false
	for _, t := range wf.Tasks {
		if len(inbound[t.Name]) == 0 {
			start = true
		}
	}
	if !start && len(wf.Tasks) > 0 {
		p.errorf(tasks, "no start task: every task has an inbound transition, so none can run first")
	}
	for _, t := range wf.Tasks {
		if t.Join == 0 {
			continue
		}
		p.task = t.Name
		in := len(inbound[t.Name])
		at := &node{line: t.Line, col: t.Col}
		if t.Join == JoinAll {
			if in == 0 {
				p.errorf(at, "no inbound tasks for a task with 'join: all'")
			}
		} else if in < t.Join {
			p.errorf(at, "not enough inbound tasks for 'join: %d' (%d inbound)", t.Join, in)
		}
	}
	p.task = ""
}

// checkReverseGraph applies ReverseWorkflowSpec.validate_semantics: every
// required task exists (engine commands are not allowed here).
func (p *parser) checkReverseGraph(wf *Workflow) {
	names := map[string]bool{}
	for _, t := range wf.Tasks {
		names[t.Name] = true
	}
	for _, t := range wf.Tasks {
		p.task = t.Name
		reqs := append([]string{}, t.Requires...)
		if wf.TaskDefaults != nil {
			reqs = append(reqs, wf.TaskDefaults.Requires...)
		}
		for _, r := range reqs {
			if r != t.Name && !names[r] {
				p.errorf(&node{line: t.Line, col: t.Col}, "requires task %q, which does not exist%s", r, didYouMean(r, keysOf(names)))
			}
		}
	}
	p.task = ""
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- schema helpers: each mirrors one of mistral/lang/types.py ----

// warnKeys reports unknown keys of a mapping whose schema Mistral does not
// close (the workflow level: its merged schema drops
// additionalProperties). Mistral ignores such keys, so they cannot be
// errors; they are warnings because a misspelt key there (`inptu:`)
// silently changes what the workflow does.
func (p *parser) warnKeys(n *node, allowed []string) {
	for _, k := range n.keys {
		s := k.keyStr()
		if !contains(allowed, s) {
			p.warnf(k, "unknown key %q is ignored%s", s, didYouMean(s, allowed))
		}
	}
}

// checkKeysStrict reports every key not in allowed, with a did-you-mean
// hint. A key in other is valid elsewhere; note explains why not here
// (it may hold one %s for the key).
func (p *parser) checkKeysStrict(n *node, allowed, other []string, note string) {
	for _, k := range n.keys {
		s := k.keyStr()
		if contains(allowed, s) && k.kind == kindStr {
			continue
		}
		if contains(other, s) {
			msg := note
			if strings.Contains(note, "%s") {
				msg = fmt.Sprintf(note, s)
			}
			p.errorf(k, "unknown key %q (%s)", s, msg)
			continue
		}
		p.errorf(k, "unknown key %q%s", s, didYouMean(s, allowed))
	}
}

func (p *parser) nonEmptyString(n *node, what string) (string, bool) {
	if n.kind != kindStr || n.str() == "" {
		p.errorf(n, "'%s' must be a non-empty string, not %s", what, describe(n))
		return "", false
	}
	return n.str(), true
}

func (p *parser) uniqueStringList(n *node, what string) ([]string, bool) {
	if n.kind != kindSeq || len(n.items) == 0 {
		p.errorf(n, "'%s' must be a non-empty list of strings, not %s", what, describe(n))
		return nil, false
	}
	out := make([]string, 0, len(n.items))
	ok := true
	for _, it := range n.items {
		if it.kind != kindStr || it.str() == "" {
			p.errorf(it, "'%s' must hold non-empty strings, not %s", what, describe(it))
			ok = false
			continue
		}
		out = append(out, it.str())
	}
	if ok {
		ok = p.checkUnique(n, what)
	}
	return out, ok
}

// checkUnique is JSON Schema's uniqueItems.
func (p *parser) checkUnique(n *node, what string) bool {
	vals := make([]any, len(n.items))
	for i, it := range n.items {
		vals[i] = jsonEqualForm(it.value())
		for j := 0; j < i; j++ {
			if reflect.DeepEqual(vals[i], vals[j]) {
				p.errorf(it, "'%s' has a duplicate item", what)
				return false
			}
		}
	}
	return true
}

// jsonEqualForm makes 1 and 1.0 compare equal, as JSON Schema does.
func jsonEqualForm(v any) any {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = jsonEqualForm(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = jsonEqualForm(e)
		}
		return s
	}
	return v
}

func (p *parser) nonEmptyDict(n *node, what string) (map[string]any, bool) {
	if n.kind != kindMap || len(n.keys) == 0 {
		p.errorf(n, "'%s' must be a non-empty mapping, not %s", what, describe(n))
		return nil, false
	}
	return n.value().(map[string]any), true
}

// exprOrNonNegInt is types.EXPRESSION_OR_POSITIVE_INTEGER.
func (p *parser) exprOrNonNegInt(n *node, what string) any {
	if n.kind == kindStr && isExpression(n.str()) {
		p.checkExpr(n, n.str())
		return n.str()
	}
	if i, ok := nonNegInt(n); ok {
		return i
	}
	p.errorf(n, "'%s' must be a non-negative integer or an expression, not %s", what, describe(n))
	return nil
}

// exprOrBool is types.EXPRESSION_OR_BOOLEAN.
func (p *parser) exprOrBool(n *node, what string) any {
	if n.kind == kindStr && isExpression(n.str()) {
		p.checkExpr(n, n.str())
		return n.str()
	}
	if n.kind == kindBool {
		return n.val
	}
	p.errorf(n, "'%s' must be a boolean or an expression, not %s", what, describe(n))
	return nil
}

// checkExprValues validates the string values at the top level of a
// mapping, which is as deep as Mistral's validate_expr looks.
func (p *parser) checkExprValues(n *node) {
	for _, v := range n.vals {
		if v.kind == kindStr {
			p.checkExpr(v, v.str())
		}
	}
}

// checkExpr applies Mistral's expression validation to one string: a
// string may not mix YAQL and Jinja, and each expression must parse
// (through Options.ValidateExpr).
func (p *parser) checkExpr(at *node, s string) {
	y, j := isYAQL(s), isJinja(s)
	if !y && !j {
		return
	}
	if y && j {
		p.errorf(at, "the string mixes Jinja and YAQL expressions, which Mistral does not allow: %q", s)
		return
	}
	if p.opts.ValidateExpr != nil {
		if err := p.opts.ValidateExpr(s); err != nil {
			p.errorf(at, "invalid expression %q: %v", s, err)
		}
	}
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// didYouMean suggests the closest allowed word, if one is close enough.
func didYouMean(s string, allowed []string) string {
	best, bestD := "", 3
	if len(s) <= 3 {
		bestD = 2
	}
	for _, a := range allowed {
		if d := levenshtein(strings.ToLower(s), a); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 99
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// isUUIDLike is oslo's uuidutils.is_uuid_like: Mistral refuses workflow
// names that look like UUIDs, since its API takes either in the same place.
func isUUIDLike(s string) bool {
	h := strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return false
	}
	for _, r := range h {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
