// Package lang loads and validates workflow definitions written in the
// Mistral workflow language v2, so that workflows written for OpenStack
// Mistral run on Sirocco unchanged. It follows Mistral 15's
// mistral/lang/v2: what Mistral accepts is accepted, what it rejects is
// rejected, and every error names its line and column.
//
// ParseWorkflows reads a workflow document (version '2.0' and one or more
// workflows) into a Document. The engine compiles and stores the Workflow
// values it returns, as JSON.
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
//   - All errors are collected; Mistral stops at the first.
//   - YAML: plain scalars are resolved with PyYAML's YAML 1.1 rules. YAML
//     timestamps stay strings (PyYAML makes dates, which Mistral's schema
//     then rejects at the top level of vars, output and the like); .inf
//     and .nan stay strings (JSON cannot hold them). Mistral reads '&' and
//     '*' as plain text: Sirocco recovers that text from the source line,
//     but an alias to an undefined anchor is a yaml.v3 syntax error and a
//     multi-line anchored scalar keeps only its first line. yaml.v3
//     reports the line of the construct it was reading for some syntax
//     errors, so that line can be earlier than the bad character.
//   - on-skip and publish-on-skip are accepted (they are in the Mistral
//     sources the conformance data comes from, not in the 15.0.0 package).
//   - Inline parameters that combine with an `input:` expression string
//     are an error here; Mistral fails with an internal TypeError.
//   - Expressions are checked for mixing YAQL and Jinja; their syntax is
//     checked only through Options.ValidateExpr.
package lang
