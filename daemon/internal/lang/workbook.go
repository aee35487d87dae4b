package lang

import (
	"fmt"
	"regexp"
	"strconv"
)

// Workbook is a workbook: a named bundle of workflows and ad-hoc actions,
// what Mistral's POST /v2/workbooks accepts. Mistral stores each of its
// workflows and actions under the workbook's name followed by a dot
// ("my_wb.my_wf"), and so does ParseWorkbook.
type Workbook struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Workflows and Actions are in document order, their names prefixed
	// with the workbook's name.
	Workflows []*Workflow `json:"workflows,omitempty"`
	Actions   []*Action   `json:"actions,omitempty"`
	// Warnings are as in Document.
	Warnings ErrorList `json:"warnings,omitempty"`
}

// ActionDocument is a document of ad-hoc actions: what Mistral's
// POST /v2/actions accepts (`version` and one or more actions).
type ActionDocument struct {
	Version  string    `json:"version"`
	Actions  []*Action `json:"actions"` // document order
	Warnings ErrorList `json:"warnings,omitempty"`
}

// Action is an ad-hoc action: an existing action (Base) called with
// preset input (BaseInput) that may use the ad-hoc action's own Input
// through expressions, and whose result is reshaped by Output.
type Action struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Base is the name of the action this one wraps, without its inline
	// parameters (`base: std.echo output=1` gives "std.echo"). Mistral
	// looks it up by that exact name, in a workbook too.
	Base string `json:"base"`
	// BaseInput is `base-input` with the inline parameters of `base`
	// merged in (they win, as in Mistral's ActionSpec); never nil.
	BaseInput map[string]any `json:"base_input"`
	Input     []Param        `json:"input,omitempty"`
	// Output is nil when absent; otherwise any value, whose strings may
	// hold expressions over the base action's result.
	Output any `json:"output,omitempty"`
	Line   int `json:"line,omitempty"`
	Col    int `json:"col,omitempty"`
}

// UnmarshalJSON decodes an Action, keeping integers as int64.
func (a *Action) UnmarshalJSON(b []byte) error {
	type plain Action
	if err := decodeNumbers(b, (*plain)(a)); err != nil {
		return err
	}
	a.BaseInput, _ = normalizeJSON(a.BaseInput).(map[string]any)
	a.Output = normalizeJSON(a.Output)
	for i := range a.Input {
		a.Input[i].Default = normalizeJSON(a.Input[i].Default)
	}
	return nil
}

// ParseWorkbook reads and validates a workbook (name, optional
// description and tags, workflows, actions) by Mistral 15's WorkbookSpec
// rules. Each workflow is checked as ParseWorkflows checks it. Workflow and
// action names come back prefixed with the workbook's name, and a task
// that names an action or a workflow of the same workbook by its short
// name is rewritten to the prefixed name: Mistral resolves such names at
// run time by trying "<workbook>.<name>" first, and the workbook's own
// definitions always exist when its workflows run. Names that are not
// defined in the workbook are left as written.
func ParseWorkbook(src []byte, opts Options) (*Workbook, error) {
	return parse(src, opts, (*parser).workbook, func(wb *Workbook, w ErrorList) { wb.Warnings = w })
}

// ParseActions reads and validates a document of ad-hoc actions by
// Mistral 15's ActionListSpec rules.
func ParseActions(src []byte, opts Options) (*ActionDocument, error) {
	return parse(src, opts, (*parser).actionDocument, func(d *ActionDocument, w ErrorList) { d.Warnings = w })
}

var workbookKeys = []string{"version", "name", "description", "tags", "workflows", "actions"}

// wbItemNameRe is WorkbookSpec's NON_VERSION_WORD_REGEX: a workflow or
// action of a workbook is named with word characters and dashes.
var wbItemNameRe = regexp.MustCompile(`^[` + pyWordClass + `\-]+$`)

func (p *parser) workbook(root *node) *Workbook {
	if root.kind != kindMap {
		p.errorf(root, "a workbook must be a mapping with 'version', 'name', 'workflows' and 'actions', not %s", describe(root))
		return nil
	}
	wb := &Workbook{}
	p.checkKeysStrict(root, workbookKeys, nil, "")
	if v := root.get("version"); v == nil {
		p.errorf(root, "missing required key 'version' (it must be '2.0')")
	} else {
		p.workbookVersion(v, "version")
	}
	if n := root.get("name"); n == nil {
		p.errorf(root, "missing required key 'name': a workbook must have a name")
	} else {
		wb.Name, _ = p.nonEmptyString(n, "name")
	}
	if d := root.get("description"); d != nil {
		wb.Description, _ = p.nonEmptyString(d, "description")
	}
	if t := root.get("tags"); t != nil {
		wb.Tags, _ = p.uniqueStringList(t, "tags")
	}
	prefix := wb.Name + "."
	if as := root.get("actions"); as != nil {
		for _, i := range p.workbookSection(as, "actions") {
			a := p.action(as.keys[i], as.vals[i])
			if a != nil {
				a.Name = prefix + a.Name
				wb.Actions = append(wb.Actions, a)
			}
		}
	}
	if ws := root.get("workflows"); ws != nil {
		for _, i := range p.workbookSection(ws, "workflows") {
			k := ws.keys[i]
			if wf := p.workflow(k.keyStr(), k, ws.vals[i]); wf != nil {
				wf.Name = prefix + wf.Name
				wb.Workflows = append(wb.Workflows, wf)
			}
		}
	}
	resolveWorkbookNames(wb)
	return wb
}

// workbookVersion checks a workbook's version: Mistral's schema takes
// only "2.0" or the number 2.0 there.
func (p *parser) workbookVersion(n *node, what string) {
	ok := (n.kind == kindStr && n.str() == "2.0") ||
		(n.kind == kindInt && n.val.(int64) == 2) ||
		(n.kind == kindFloat && n.val.(float64) == 2.0)
	if !ok {
		p.errorf(n, "unsupported %s %s: a workbook's version must be '2.0'", what, describe(n))
	}
}

// workbookSection checks the `workflows` or `actions` mapping of a
// workbook and returns the positions of its entries in n.keys (the
// `version` entry aside, which must be '2.0').
func (p *parser) workbookSection(n *node, what string) []int {
	if n.kind != kindMap || len(n.keys) == 0 {
		p.errorf(n, "'%s' must be a non-empty mapping of name to definition, not %s", what, describe(n))
		return nil
	}
	one := what[:len(what)-1]
	var out []int
	for i, k := range n.keys {
		if k.kind == kindStr && k.str() == "version" {
			p.workbookVersion(n.vals[i], what+" version")
			continue
		}
		if k.kind != kindStr || !wbItemNameRe.MatchString(k.str()) {
			p.errorf(k, "%s name %q is not allowed in a workbook: use letters, digits, '_' and '-' only", one, k.keyStr())
			continue
		}
		if n.vals[i].kind == kindNull {
			p.errorf(n.vals[i], "%s %q has no definition", one, k.str())
			continue
		}
		out = append(out, i)
	}
	return out
}

// resolveWorkbookNames rewrites short references to the workbook's own
// actions and workflows (see ParseWorkbook).
func resolveWorkbookNames(wb *Workbook) {
	prefix := wb.Name + "."
	actions, workflows := map[string]bool{}, map[string]bool{}
	for _, a := range wb.Actions {
		actions[a.Name[len(prefix):]] = true
	}
	for _, w := range wb.Workflows {
		workflows[w.Name[len(prefix):]] = true
	}
	for _, w := range wb.Workflows {
		for _, t := range w.Tasks {
			if t.Action != "" && actions[t.Action] {
				t.Action = prefix + t.Action
			}
			if t.Workflow != "" && workflows[t.Workflow] {
				t.Workflow = prefix + t.Workflow
			}
		}
	}
}

func (p *parser) actionDocument(root *node) *ActionDocument {
	if root.kind != kindMap {
		p.errorf(root, "an action document must be a mapping with 'version' and actions, not %s", describe(root))
		return nil
	}
	doc := &ActionDocument{}
	ver := root.get("version")
	if ver == nil {
		p.errorf(root, "missing required key 'version' (it must be '2.0')")
	} else {
		doc.Version = p.listVersion(ver)
	}
	for i, k := range root.keys {
		if k.kind == kindStr && k.str() == "version" {
			continue
		}
		if a := p.action(k, root.vals[i]); a != nil {
			doc.Actions = append(doc.Actions, a)
		}
	}
	if len(root.keys) == 0 || (len(root.keys) == 1 && ver != nil) {
		p.errorf(root, "the document defines no action")
	}
	return doc
}

// listVersion is the version of an action document: Mistral's schema
// takes any non-empty string or non-negative number there and ignores it,
// since only 2.0 exists.
func (p *parser) listVersion(n *node) string {
	switch n.kind {
	case kindStr:
		if n.str() != "" {
			return n.str()
		}
	case kindInt:
		if n.val.(int64) >= 0 {
			return strconv.FormatInt(n.val.(int64), 10)
		}
	case kindFloat:
		if n.val.(float64) >= 0 {
			return pyFloatRepr(n.val.(float64))
		}
	}
	p.errorf(n, "'version' must be '2.0', not %s", describe(n))
	return ""
}

// actionKeys are ActionSpec's keys (name and version are set by Mistral
// and may be written too).
var actionKeys = []string{"base", "base-input", "input", "output", "name", "version", "description", "tags"}

// action reads one ad-hoc action definition (ActionSpec).
func (p *parser) action(keyNode, n *node) *Action {
	name := keyNode.keyStr()
	p.wf, p.task = "", ""
	if keyNode.kind != kindStr {
		p.errorf(keyNode, "an action name must be a string, not %s", describe(keyNode))
		return nil
	}
	if n.kind != kindMap || len(n.keys) == 0 {
		p.errorf(n, "action %q must be a non-empty mapping with at least 'base', not %s", name, describe(n))
		return nil
	}
	a := &Action{Name: name, Line: keyNode.line, Col: keyNode.col, BaseInput: map[string]any{}}
	p.checkKeysStrictIn(n, actionKeys, fmt.Sprintf("action %q: ", name))
	if d := n.get("description"); d != nil {
		a.Description, _ = p.nonEmptyString(d, "description")
	}
	if t := n.get("tags"); t != nil {
		a.Tags, _ = p.uniqueStringList(t, "tags")
	}
	var inline map[string]any
	var order []string
	if b := n.get("base"); b == nil {
		p.errorf(keyNode, "action %q: missing required key 'base' (the action it calls, e.g. 'base: std.echo')", name)
	} else if s, ok := p.nonEmptyString(b, "base"); ok {
		cmd, prm, ord, ok := parseCmdAndInput(s)
		if !ok {
			p.errorf(b, "action %q: invalid 'base' %q: it must start with an action name", name, s)
		} else {
			a.Base, inline, order = cmd, prm, ord
			for _, k := range order {
				if v, isStr := prm[k].(string); isStr {
					p.checkExpr(b, v)
				}
			}
		}
	}
	if bi := n.get("base-input"); bi != nil {
		if m, ok := p.nonEmptyDict(bi, "base-input"); ok {
			a.BaseInput = m
			p.checkExprValues(bi)
		}
	}
	for k, v := range inline {
		a.BaseInput[k] = v
	}
	if in := n.get("input"); in != nil {
		a.Input = p.params(in)
	}
	if o := n.get("output"); o != nil {
		a.Output = o.value()
		if o.kind == kindStr {
			p.checkExpr(o, o.str())
		}
	}
	return a
}

// checkKeysStrictIn is checkKeysStrict with a prefix naming the place
// when there is no workflow or task to name.
func (p *parser) checkKeysStrictIn(n *node, allowed []string, prefix string) {
	for _, k := range n.keys {
		s := k.keyStr()
		if contains(allowed, s) && k.kind == kindStr {
			continue
		}
		p.errorf(k, "%sunknown key %q%s", prefix, s, didYouMean(s, allowed))
	}
}
