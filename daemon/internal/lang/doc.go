// Package lang loads and validates workflow definitions written in the
// Mistral workflow language v2, so that workflows written for OpenStack
// Mistral run on Sirocco unchanged. It follows Mistral 15's
// mistral/lang/v2: what Mistral accepts is accepted, what it rejects is
// rejected, and every error names its line and column.
//
// Three entry points, one per kind of definition Mistral's API takes,
// share Options and report every problem as an ErrorList:
//
//   - ParseWorkflows reads a workflow document (version '2.0' and one or
//     more workflows) into a Document (POST /v2/workflows).
//   - ParseWorkbook reads a workbook (name, workflows, actions) into a
//     Workbook whose workflow and action names carry the workbook's name
//     as a prefix (POST /v2/workbooks).
//   - ParseActions reads a document of ad-hoc actions into an
//     ActionDocument (POST /v2/actions).
//
// The engine compiles and stores the Workflow values they return, as
// JSON.
//
// testdata/mistral/verdicts.json holds the real Mistral 15 API's verdict
// on every definition of testdata/mistral (testdata/record_verdicts.py
// records it); TestMistralConformance checks that Sirocco agrees.
//
// Where Sirocco differs from Mistral, on purpose or not yet:
//
//   - version must read as 2.0 ("2.0", 2, 2.0). Mistral's workflow-list
//     schema accepts any non-empty version string or number and then
//     ignores it.
//   - Mistral ignores unknown keys at the workflow level (its merged
//     schema drops additionalProperties); Sirocco accepts them too but
//     returns a warning with a did-you-mean in Document.Warnings. So does
//     an on-* clause given as a single {task: guard} mapping, which
//     Mistral reads as the {publish, next} form and which leads nowhere.
//   - A workflow's description may be anything in Mistral (its schema
//     does not check it); Sirocco loads it too, with a warning when it is
//     not a non-empty string.
//   - All errors are collected; Mistral stops at the first.
//   - YAML: plain scalars are resolved with PyYAML's YAML 1.1 rules. YAML
//     timestamps stay strings (PyYAML makes dates, which Mistral's schema
//     then rejects at the top level of vars, output and the like); .inf
//     and .nan stay strings (JSON cannot hold them). Mistral reads '&' and
//     '*' as plain text: Sirocco recovers that text from the source line,
//     but an alias to an undefined anchor is a yaml.v3 syntax error and a
//     multi-line anchored scalar keeps only its first line. yaml.v3
//     reads the YAML; when it finds a syntax error, goccy/go-yaml's
//     parser places it (line and column of the offending token) and the
//     message is reworded for authors (yamlpos.go). A float with no
//     fraction (2.0) reads back from the stored JSON as the integer 2.
//   - on-skip and publish-on-skip are accepted (they are in the Mistral
//     sources the conformance data comes from, not in the 15.0.0 package).
//   - Inline parameters that combine with an `input:` expression string
//     are an error here; Mistral fails with an internal TypeError.
//   - Expressions are checked for mixing YAQL and Jinja; their syntax is
//     checked only through Options.ValidateExpr.
//   - In a workbook, a task naming an action or workflow of the same
//     workbook by its short name is resolved to the prefixed name at load
//     time; Mistral resolves it the same way, at run time.
package lang
