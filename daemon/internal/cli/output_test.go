package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

func ptr(s string) *string { return &s }

// One list and one object through each output format: the table for
// people, and JSON and YAML with the wire's field names in the wire's
// order for scripts.
func TestShow(t *testing.T) {
	exec := api.Execution{
		ID: "e1", WorkflowName: "wf", State: "ERROR", StateInfo: ptr("Failure caused by error in tasks: t1\n  boom"),
		Input: `{"n":1}`, Params: "{}", Tags: []string{}, CreatedAt: ptr("2026-11-30 12:00:00"),
		Output: ptr(`{"a":"` + strings.Repeat("x", 70) + `"}`),
	}
	list := []api.Execution{exec, {ID: "e2", WorkflowName: "other", State: "RUNNING", Tags: []string{}}}
	tests := []struct {
		name   string
		format string
		one    bool
		want   string
	}{
		{"table of a list", outTable, false, "" +
			"ID  WORKFLOW  STATE    STATE INFO                                 CREATED              UPDATED\n" +
			"e1  wf        ERROR    Failure caused by error in tasks: t1 boom  2026-11-30 12:00:00  -\n" +
			"e2  other     RUNNING  -                                          -                    -\n"},
		{"json of a list", outJSON, false, `[
  {
    "id": "e1",
    "workflow_id": "",`},
		{"yaml of a list keeps the wire order and quotes JSON text", outYAML, false, `- id: e1
  workflow_id: ""
  workflow_name: wf
  workflow_namespace: ""
  description: ""
  tags: []
  params: '{}'
  task_execution_id: null
  root_execution_id: null
  state: ERROR
  state_info: |-
    Failure caused by error in tasks: t1
      boom
  input: '{"n":1}'
`},
		{"detail of one: labels, dashes, long JSON as a block", outTable, true, `ID:                  e1
Workflow ID:         -
Workflow name:       wf
Workflow namespace:  -
Description:         -
Tags:                -
Params:              {}
Task execution ID:   -
Root execution ID:   -
State:               ERROR
Input:               {"n":1}
Created at:          2026-11-30 12:00:00
Updated at:          -
Project ID:          -
State info:
Failure caused by error in tasks: t1
  boom
Output:
{
  "a": "` + strings.Repeat("x", 70) + `"
}
`},
		{"json of one", outJSON, true, `{
  "id": "e1",`},
		{"yaml of one", outYAML, true, "id: e1\nworkflow_id: \"\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &options{output: tc.format}
			var b bytes.Buffer
			var err error
			if tc.one {
				err = o.showOne(&b, exec)
			} else {
				err = o.show(&b, list, rowsOf(list, executionCols...))
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(b.String(), tc.want) {
				t.Errorf("got:\n%s\nwant (a prefix):\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	for in, want := range map[string]string{
		"id": "ID", "workflow_execution_id": "Workflow execution ID", "state_info": "State info",
		"sha256": "SHA-256", "input": "Input",
	} {
		if got := label(in); got != want {
			t.Errorf("label(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckOutput(t *testing.T) {
	for _, f := range []string{"table", "json", "yaml"} {
		if err := checkOutput(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := checkOutput("xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("xml: %v", err)
	}
}

func TestFmtElapsed(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"},
		{1234 * time.Millisecond, "1.2s"},
		{59*time.Second + 940*time.Millisecond, "59.9s"},
		{3*time.Minute + 7*time.Second, "3m07s"},
		{2*time.Hour + 5*time.Minute + 59*time.Second, "2h05m"},
	}
	for _, tc := range tests {
		if got := fmtElapsed(tc.d); got != tc.want {
			t.Errorf("fmtElapsed(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// The progress display, event by event, in both of its forms.
func TestProgress(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	task := func(id, name, state, info string) client.Event {
		tk := &api.Task{ID: id, Name: name, State: state}
		if info != "" {
			tk.StateInfo = &info
		}
		return client.Event{Type: api.EventTask, Task: tk}
	}
	exec := func(state string) client.Event {
		return client.Event{Type: api.EventExecution, Execution: &api.Execution{ID: "e", WorkflowName: "wf", State: state}}
	}
	events := []client.Event{
		exec("RUNNING"),
		task("1", "greet", "RUNNING", ""),
		task("1", "greet", "RUNNING", ""), // a resumed stream repeats: nothing new
		task("1", "greet", "SUCCESS", ""),
		task("2", "fetch", "RUNNING", ""),
		task("3", "notify", "RUNNING", ""),
		task("2", "fetch", "ERROR", "HTTP 500\nfrom the server"),
		exec("ERROR"),
	}
	tests := []struct {
		name  string
		tty   bool
		width int
		want  []string // lines, after removing the redraws for the tty
	}{
		{"plain: one line per change", false, 80, []string{
			"    0.0s  execution  wf                        RUNNING",
			"    0.5s  task       greet                     RUNNING",
			"    1.5s  task       greet                     SUCCESS",
			"    2.0s  task       fetch                     RUNNING",
			"    2.5s  task       notify                    RUNNING",
			"    3.0s  task       fetch                     ERROR  HTTP 500 from the server",
			"    3.5s  execution  wf                        ERROR",
		}},
		{"terminal: ended tasks above, a status line, a summary", true, 200, []string{
			"  ✓ greet                    1.5s  success",
			"  ✗ fetch                    3.0s  error  HTTP 500 from the server",
			"✗ wf ERROR in 4.0s: 1 done, 1 failed, 1 not finished",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			now := t0
			p := newProgress(&b, tc.tty, t0, &api.Execution{WorkflowName: "wf", State: "RUNNING"})
			p.color = false
			p.now = func() time.Time { return now }
			p.width = func() int { return tc.width }
			var statuses []string
			for _, ev := range events {
				p.event(ev)
				now = now.Add(500 * time.Millisecond)
				if tc.tty {
					statuses = append(statuses, lastStatus(b.String()))
				}
			}
			p.finish(&api.Execution{State: "ERROR"})
			got := b.String()
			if tc.tty {
				got = withoutRedraws(got)
			}
			if g, w := strings.Split(strings.TrimRight(got, "\n"), "\n"), tc.want; strings.Join(g, "\n") != strings.Join(w, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
			if tc.tty {
				want := "⠋ wf  RUNNING  2.5s  │ 1 done · 2 running · 0 failed  │ fetch, notify"
				if statuses[5] != want {
					t.Errorf("status line after 6 events = %q, want %q", statuses[5], want)
				}
			}
		})
	}
}

// The status line never wraps: it is cut to the terminal's width.
func TestProgressFitsTheTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, true, time.Now(), &api.Execution{WorkflowName: strings.Repeat("w", 100), State: "RUNNING"})
	p.width = func() int { return 40 }
	for i, color := range []bool{false, true} {
		p.color = color
		b.Reset()
		p.event(client.Event{Task: &api.Task{ID: fmt.Sprint(i), Name: "t", State: "RUNNING"}})
		line := lastStatus(b.String())
		if n := len([]rune(stripANSI(line))); n != 39 {
			t.Errorf("color %v: status line is %d columns on a 40-column terminal: %q", color, n, line)
		}
	}
}

// lastStatus is the status line as the terminal shows it now.
func lastStatus(out string) string {
	i := strings.LastIndex(out, "\r\x1b[K")
	if i < 0 {
		return ""
	}
	s := out[i+len("\r\x1b[K"):]
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		return "" // a permanent line, not a status line
	}
	return s
}

// withoutRedraws keeps what stays on the screen: the permanent lines.
func withoutRedraws(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if i := strings.LastIndex(line, "\r\x1b[K"); i >= 0 {
			line = line[i+len("\r\x1b[K"):]
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

func stripANSI(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
