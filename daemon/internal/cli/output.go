package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Output formats of --output. Table is for people; json and yaml print
// exactly what the server answered (Mistral's field names and shapes), for
// scripts.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
)

func checkOutput(format string) error {
	switch format {
	case outTable, outJSON, outYAML:
		return nil
	}
	return fmt.Errorf("--output must be table, json or yaml, not %q", format)
}

// scripted reports whether the output is for a program rather than a
// person: progress and chatter then go to stderr or nowhere.
func (o *options) scripted() bool { return o.output == outJSON || o.output == outYAML }

// show prints v as the chosen format; for a table it prints rows (the
// first row the header), built only when needed.
func (o *options) show(w io.Writer, v any, rows func() [][]string) error {
	switch o.output {
	case outJSON:
		return printJSON(w, v)
	case outYAML:
		return printYAML(w, v)
	}
	return table(w, rows())
}

// printYAML writes v as YAML with the keys in the order of its JSON form,
// which is the wire's order: v goes through JSON, whose text YAML reads
// into a node tree that keeps the order, and is written back in block
// style.
func printYAML(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the output: %w", err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("encoding the output as YAML: %w", err)
	}
	blockStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return fmt.Errorf("writing YAML: %w", err)
	}
	return enc.Close()
}

// blockStyle drops the flow style and quoting JSON text parses with, so
// the encoder picks YAML's usual style (it still quotes strings that would
// read as another type, such as "123" or "true").
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// column is one column of a table of T: its header and how a cell reads.
type column[T any] struct {
	head string
	cell func(T) string
}

// rowsOf lays items out as table rows under the columns' headers.
func rowsOf[T any](items []T, cols ...column[T]) func() [][]string {
	return func() [][]string {
		head := make([]string, len(cols))
		for i, c := range cols {
			head[i] = c.head
		}
		rows := [][]string{head}
		for _, it := range items {
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = c.cell(it)
			}
			rows = append(rows, row)
		}
		return rows
	}
}

// showOne prints one object: as JSON or YAML for scripts, else as detail.
func (o *options) showOne(w io.Writer, v any) error {
	if o.scripted() {
		return o.show(w, v, nil)
	}
	return detail(w, v)
}

// detail prints one object for a person: a "Label: value" line per field
// in the wire's order, labels made from the field names (workflow_name is
// "Workflow name"), null and empty as "-". Values that span lines (a
// definition, JSON-encoded input or output) follow the table as blocks,
// JSON indented.
func detail(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the output: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return printJSON(w, v)
	}
	var rows [][]string
	var blocks []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		label := label(k.(string))
		text, block := cellText(val)
		if block {
			blocks = append(blocks, label+":\n"+strings.TrimRight(text, "\n")+"\n")
			continue
		}
		rows = append(rows, []string{label + ":", text})
	}
	if err := table(w, rows); err != nil {
		return err
	}
	for _, b := range blocks {
		if _, err := io.WriteString(w, b); err != nil {
			return err
		}
	}
	return nil
}

// label turns a wire field name into a table label: "state_info" is
// "State info", "id" is "ID".
func label(field string) string {
	words := strings.Split(field, "_")
	for i, wd := range words {
		switch wd {
		case "id":
			words[i] = "ID"
			continue
		case "url":
			words[i] = "URL"
			continue
		case "sha256":
			words[i] = "SHA-256"
			continue
		}
		if i == 0 && wd != "" {
			words[i] = strings.ToUpper(wd[:1]) + wd[1:]
		}
	}
	return strings.Join(words, " ")
}

// blockAt is the length from which a JSON value is shown as a block.
const blockAt = 60

// cellText renders one field value; block says it belongs below the table.
func cellText(val json.RawMessage) (text string, block bool) {
	var x any
	dec := json.NewDecoder(bytes.NewReader(val))
	dec.UseNumber()
	if dec.Decode(&x) != nil {
		return string(val), false
	}
	switch v := x.(type) {
	case nil:
		return "-", false
	case string:
		s := strings.TrimSpace(v)
		switch {
		case s == "":
			return "-", false
		case strings.HasPrefix(s, "{") || strings.HasPrefix(s, "["):
			// Mistral's JSON-encoded fields (input, output, params).
			if json.Valid([]byte(s)) {
				if len(s) <= blockAt {
					return s, false
				}
				return indentJSON(s), true
			}
		}
		if strings.Contains(v, "\n") {
			return v, true
		}
		return v, false
	case []any:
		if len(v) == 0 {
			return "-", false
		}
		parts := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			} else {
				b, _ := json.Marshal(e)
				parts = append(parts, string(b))
			}
		}
		return strings.Join(parts, ", "), false
	case map[string]any:
		if len(val) <= blockAt {
			return string(val), false
		}
		return indentJSON(string(val)), true
	}
	return string(val), false
}
