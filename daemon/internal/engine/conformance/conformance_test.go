package conformance

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/daemon/internal/server"
	"github.com/sirocco-wf/sirocco/daemon/internal/servertest"
)

// Run with -update-mismatches to rewrite testdata/mismatches.txt after a
// fix (or after recording again): it lists every current mismatch with the
// reason the test found.
var updateMismatches = flag.Bool("update-mismatches", false, "rewrite testdata/mismatches.txt")

const (
	mismatchesFile = "testdata/mismatches.txt"
	// timingReason starts the reason of a listed case whose outcome
	// depends on timing (which of two parallel results comes first, an
	// async action completed before or after a pause): it may match or
	// not, and -update-mismatches keeps it.
	timingReason = "timing: "
	// asyncOutput is what record.py answers for every std.async_noop.
	asyncOutput = `{"result": "async done"}`
	// caseDeadline bounds one execution; the slowest recorded case waits
	// a few seconds in Mistral.
	caseDeadline = 60 * time.Second
	// parallel is how many cases run at once on the server.
	parallel = 16
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).syncBlocks"),
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		// http.DefaultClient keeps idle connections to the stopped server.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// referenceFiles are the recordings: the corpus and Mistral's own test
// workflows, then the workflows written for this test (testdata/extra).
// Their case ids and workflow names differ, so their cases run side by
// side on one server and share one mismatch list.
var referenceFiles = []string{"testdata/mistral15.json", "testdata/mistral15_extra.json"}

// reference is one recording, or all of them together.
type reference struct {
	Mistral string    `json:"mistral"`
	Cases   []refCase `json:"cases"`
	Skipped []struct {
		Source string `json:"source"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

// refCase is one workflow started one way, and what Mistral did with it.
type refCase struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	Kind       string `json:"kind"` // "workflows" or "workbook"
	Definition string `json:"definition"`
	Workflow   string `json:"workflow"`
	// Input and Params are sent as recorded, digit for digit: decoded
	// into float64 an integer above 2^53 would reach Sirocco changed.
	Input  json.RawMessage `json:"input"`
	Params json.RawMessage `json:"params"`
	// Unstable names the parts (only "output" so far) that differed
	// between two recordings, with the reason; they are not compared.
	Unstable map[string]string `json:"unstable"`
	Mistral  outcome           `json:"mistral"`
}

// outcome is what a server did with a case: it refused the definition or
// the start, or it ran the execution to an end.
type outcome struct {
	Create       *rejection `json:"create,omitempty"`
	Start        *rejection `json:"start,omitempty"`
	State        string     `json:"state"`
	StateInfo    *string    `json:"state_info"`
	Output       any        `json:"output"`
	Tasks        []task     `json:"tasks"`
	TimedOut     bool       `json:"timed_out,omitempty"`
	HarnessError string     `json:"harness_error,omitempty"`
}

type rejection struct {
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// task is the part of a task execution that is compared.
type task struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	Published any    `json:"published"`
}

// TestMistralConformance runs every recorded case on one Sirocco server and
// compares final state, tasks (name, state, published) and output with
// Mistral's.
func TestMistralConformance(t *testing.T) {
	ref := readReference(t)
	known := readMismatches(t)
	url := startServer(t)

	// Cases that share a definition (several inputs, several workflows of
	// one document) upload it once, as record.py did.
	created := map[string]*rejection{}
	for _, c := range ref.Cases {
		if _, ok := created[c.Definition]; ok {
			continue
		}
		r, err := create(url, c)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		created[c.Definition] = r
	}
	got := make([]outcome, len(ref.Cases))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, c := range ref.Cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			o, err := runCase(url, c, created[c.Definition])
			if err != nil {
				o.HarnessError = err.Error()
			}
			got[i] = o
		}()
	}
	wg.Wait()

	current := map[string]string{}
	categories := map[string]int{}
	for i, c := range ref.Cases {
		if c.Mistral.HarnessError != "" || c.Mistral.TimedOut {
			t.Errorf("%s: the recording is incomplete (%s); record it again", c.ID, c.Mistral.HarnessError)
			continue
		}
		if got[i].HarnessError != "" {
			t.Errorf("%s: %s", c.ID, got[i].HarnessError)
			continue
		}
		why := compare(c, got[i])
		if strings.HasPrefix(known[c.ID], timingReason) {
			// Either outcome is right: which one comes depends on
			// timing, in Mistral's run as in ours.
			current[c.ID] = known[c.ID]
			categories["timing"]++
			continue
		}
		if why == "" {
			if _, ok := known[c.ID]; ok && !*updateMismatches {
				t.Errorf("%s now matches Mistral: remove it from %s (-update-mismatches)", c.ID, mismatchesFile)
			}
			continue
		}
		current[c.ID] = why
		categories[category(why)]++
		if _, ok := known[c.ID]; !ok && !*updateMismatches {
			t.Errorf("%s: new mismatch: %s", c.ID, why)
		}
	}
	ids := map[string]bool{}
	for _, c := range ref.Cases {
		ids[c.ID] = true
	}
	for id := range known {
		if !ids[id] && !*updateMismatches {
			t.Errorf("%s lists %q, which is not a recorded case", mismatchesFile, id)
		}
	}
	t.Logf("%d cases (%d definitions skipped at recording), %d match Mistral, %d listed mismatches",
		len(ref.Cases), len(ref.Skipped), len(ref.Cases)-len(current), len(current))
	cats := make([]string, 0, len(categories))
	for c := range categories {
		cats = append(cats, c)
	}
	sort.Slice(cats, func(i, j int) bool { return categories[cats[i]] > categories[cats[j]] })
	for _, c := range cats {
		t.Logf("  %3d %s", categories[c], c)
	}
	if *updateMismatches {
		writeMismatches(t, current)
	}
}

func readReference(t *testing.T) reference {
	t.Helper()
	var all reference
	for _, f := range referenceFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ref reference
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(ref.Cases) == 0 {
			t.Fatalf("%s holds no cases", f)
		}
		all.Cases = append(all.Cases, ref.Cases...)
		all.Skipped = append(all.Skipped, ref.Skipped...)
	}
	return all
}

// readMismatches reads "case id<TAB>reason" lines.
func readMismatches(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(mismatchesFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for n, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		id, why, ok := strings.Cut(l, "\t")
		if !ok || strings.TrimSpace(why) == "" {
			t.Fatalf("%s:%d: want \"case id<TAB>reason\", got %q", mismatchesFile, n+1, l)
		}
		out[id] = why
	}
	return out
}

func writeMismatches(t *testing.T, current map[string]string) {
	t.Helper()
	ids := make([]string, 0, len(current))
	for id := range current {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b bytes.Buffer
	b.WriteString("# Cases of mistral15.json and mistral15_extra.json that Sirocco does not match yet: case id<TAB>reason.\n")
	b.WriteString("# Written by go test -update-mismatches; the list may only shrink.\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "%s\t%s\n", id, current[id])
	}
	if err := os.WriteFile(mismatchesFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startServer runs a real embedded server (embedded NATS on a free port,
// SQLite in a temporary data dir, the built-in actions in its executor
// host) until the test ends.
func startServer(t *testing.T) string {
	return servertest.Start(t, server.Config{Capacity: 64})
}

// do sends a request; out (when not nil) receives a 2xx JSON answer.
func do(method, url, contentType, body string, out any) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, "", fmt.Errorf("%s %s: %w in %s", method, url, err, b)
		}
	}
	return resp.StatusCode, string(b), nil
}

// problemText is the message of an RFC 9457 answer, or the body.
func problemText(body string) string {
	var p struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal([]byte(body), &p) == nil && p.Detail != "" {
		return p.Detail
	}
	return body
}

// create uploads a case's definition; a refusal is the answer, not an
// error.
func create(base string, c refCase) (*rejection, error) {
	path := "/v2/workflows"
	if c.Kind == "workbook" {
		path = "/v2/workbooks"
	}
	code, body, err := do("POST", base+path, "text/plain", c.Definition, nil)
	if err != nil {
		return nil, err
	}
	if code >= 300 {
		return &rejection{Status: code, Error: problemText(body)}, nil
	}
	return nil, nil
}

// runCase does on Sirocco what record.py did on Mistral.
func runCase(base string, c refCase, created *rejection) (outcome, error) {
	var o outcome
	if created != nil {
		o.Create = created
		return o, nil
	}
	start, _ := json.Marshal(map[string]string{"workflow_name": c.Workflow, "input": orEmpty(c.Input), "params": orEmpty(c.Params)})
	var ex struct {
		ID        string  `json:"id"`
		State     string  `json:"state"`
		StateInfo *string `json:"state_info"`
		Output    *string `json:"output"`
	}
	code, body, err := do("POST", base+"/v2/executions", "application/json", string(start), &ex)
	if err != nil {
		return o, err
	}
	if code >= 300 {
		o.Start = &rejection{Status: code, Error: problemText(body)}
		return o, nil
	}
	deadline := time.Now().Add(caseDeadline)
	completed := map[string]bool{}
	for {
		if code, body, err = do("GET", base+"/v2/executions/"+ex.ID, "", "", &ex); err != nil || code != http.StatusOK {
			return o, fmt.Errorf("get execution: %d %s %v", code, body, err)
		}
		if ex.State != "RUNNING" && ex.State != "IDLE" {
			break
		}
		if time.Now().After(deadline) {
			// An execution that never ends is an outcome to compare and
			// list like any other (a sub-workflow that paused leaves its
			// parent RUNNING in Sirocco, where Mistral pauses the parent).
			info := fmt.Sprintf("still %s after %s", ex.State, caseDeadline)
			o.State, o.StateInfo = ex.State, &info
			return o, nil
		}
		if err := completeAsync(base, ex.ID, completed); err != nil {
			return o, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.State, o.StateInfo = ex.State, ex.StateInfo
	if ex.Output != nil {
		if err := json.Unmarshal([]byte(*ex.Output), &o.Output); err != nil {
			return o, fmt.Errorf("output %q: %w", *ex.Output, err)
		}
	}
	// A task may still be running when an engine command ends the
	// execution; Mistral finishes it (record.py let it settle for half a
	// second). Give such a task longer here: under -race with many cases
	// at once, one action's round trip can take more than half a second,
	// and the loop ends as soon as no task runs.
	var tasks []wireTask
	for settle := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if tasks, err = listTasks(base, ex.ID); err != nil {
			return o, err
		}
		if !anyRunning(tasks) || time.Now().After(settle) {
			break
		}
	}
	for _, tk := range tasks {
		var pub any
		if err := json.Unmarshal([]byte(tk.Published), &pub); err != nil {
			return o, fmt.Errorf("task %s published %q: %w", tk.Name, tk.Published, err)
		}
		o.Tasks = append(o.Tasks, task{Name: tk.Name, State: tk.State, Published: pub})
	}
	return o, nil
}

// orEmpty is a recorded input or params as the text record.py sent: the
// JSON object, {} when the recording has none.
func orEmpty(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	return string(raw)
}

func anyRunning(tasks []wireTask) bool {
	for _, tk := range tasks {
		if tk.State == "RUNNING" {
			return true
		}
	}
	return false
}

type wireTask struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Published string `json:"published"`
}

func listTasks(base, id string) ([]wireTask, error) {
	var tasks struct {
		Tasks []wireTask `json:"tasks"`
	}
	code, body, err := do("GET", base+"/v2/executions/"+id+"/tasks", "", "", &tasks)
	if err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("list tasks: %d %s %v", code, body, err)
	}
	return tasks.Tasks, nil
}

// completeAsync answers every running std.async_noop of the execution as
// record.py answered Mistral's: each run of a with-items task too.
func completeAsync(base, id string, completed map[string]bool) error {
	tasks, err := listTasks(base, id)
	if err != nil {
		return err
	}
	for _, tk := range tasks {
		if tk.State != "RUNNING" {
			continue
		}
		var list struct {
			ActionExecutions []struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				State string `json:"state"`
			} `json:"action_executions"`
		}
		q := base + "/v2/action_executions?state=RUNNING&name=std.async_noop&task_execution_id=" + tk.ID
		if code, _, err := do("GET", q, "", "", &list); err != nil || code != http.StatusOK {
			continue
		}
		for _, ae := range list.ActionExecutions {
			if completed[ae.ID] {
				continue
			}
			out, _ := json.Marshal(map[string]string{"state": "SUCCESS", "output": asyncOutput})
			code, body, err := do("PUT", base+"/v2/action_executions/"+ae.ID, "application/json", string(out), nil)
			if err != nil {
				return err
			}
			if code == http.StatusConflict {
				// It ended meanwhile (its task timed out): nothing to
				// complete, as in Mistral's run when the timeout wins.
				completed[ae.ID] = true
				continue
			}
			if code >= 300 {
				return fmt.Errorf("completing %s: %d %s", ae.ID, code, body)
			}
			completed[ae.ID] = true
		}
	}
	return nil
}

var notRunYet = regexp.MustCompile(`uses (.*), which Sirocco does not run yet|Sirocco does not run (.*) yet|(\S+(?: \S+)?) (?:is|are) not supported yet`)

// unsupported names the part of the language Sirocco said it does not run,
// or "".
func unsupported(msg string) string {
	m := notRunYet.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	for _, g := range m[1:] {
		if g != "" {
			return g
		}
	}
	return ""
}

// compare returns "" when Sirocco's outcome matches Mistral's, otherwise
// the reason, worded to be stable across runs.
func compare(c refCase, got outcome) string {
	want := c.Mistral
	switch {
	case want.Create != nil && got.Create != nil:
		return ""
	case got.Create != nil:
		return "definition: Sirocco rejects it, Mistral accepts it: " + clip(got.Create.Error)
	case want.Create != nil:
		return "definition: Mistral rejects it, Sirocco accepts it: " + clip(want.Create.Error)
	}
	if got.Start != nil {
		if u := unsupported(got.Start.Error); u != "" {
			return "not run yet: " + u
		}
	}
	switch {
	case want.Start != nil && got.Start != nil:
		return ""
	case got.Start != nil:
		return "start: Sirocco refuses it, Mistral runs it: " + clip(got.Start.Error)
	case want.Start != nil:
		return "start: Mistral refuses it, Sirocco runs it: " + clip(want.Start.Error)
	}
	if got.StateInfo != nil {
		if u := unsupported(*got.StateInfo); u != "" {
			return "not run yet: " + u
		}
	}
	if want.State != got.State {
		why := fmt.Sprintf("state: Mistral %s, Sirocco %s", want.State, got.State)
		if got.StateInfo != nil {
			why += " (" + clip(scrub(*got.StateInfo).(string)) + ")"
		}
		return why
	}
	w, g := sortTasks(want.Tasks), sortTasks(got.Tasks)
	if names(w) != names(g) {
		return fmt.Sprintf("tasks: Mistral [%s], Sirocco [%s]", names(w), names(g))
	}
	for i := range w {
		if !equalJSON(w[i].Published, g[i].Published) {
			return fmt.Sprintf("published of task %s: Mistral %s, Sirocco %s", w[i].Name, clip(show(scrub(w[i].Published))), clip(show(scrub(g[i].Published))))
		}
	}
	if _, skip := c.Unstable["output"]; !skip && !equalJSON(want.Output, got.Output) {
		if m, ok := want.Output.(map[string]any); ok && want.State == "ERROR" && m["result"] != nil {
			if g, _ := got.Output.(map[string]any); g["result"] == nil {
				return "output on error: Mistral adds the error as output.result: " + clip(show(scrub(m["result"])))
			}
		}
		return fmt.Sprintf("output: Mistral %s, Sirocco %s", clip(show(scrub(want.Output))), clip(show(scrub(got.Output))))
	}
	return ""
}

// sortTasks orders tasks by name, then by their JSON: tasks that run in
// parallel are created in any order in both servers.
func sortTasks(ts []task) []task {
	out := append([]task(nil), ts...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return show(out[i]) < show(out[j])
	})
	return out
}

func names(ts []task) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Name + " " + t.State
	}
	return strings.Join(s, ", ")
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?`)
)

// scrub replaces, in every string of a decoded JSON value, the ids and
// timestamps that differ from run to run and server to server, and drops
// the Python traceback Mistral appends to some messages.
func scrub(v any) any {
	switch x := v.(type) {
	case string:
		return timeRE.ReplaceAllString(uuidRE.ReplaceAllString(withoutTraceback(x), "<id>"), "<time>")
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrub(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = scrub(e)
		}
		return out
	}
	return v
}

// tracebackMark starts the text of Python's traceback.format_exc(), which
// Mistral appends to the messages of errors caught in its engine ("Failed
// to run task [...]:\n" + traceback, "Failed to check and complete [...]:
// <error>\n" + traceback). Sirocco has no Python stack to show, so the
// comparison stops where the traceback starts. Every recorded message has
// its traceback at the end.
const tracebackMark = "\nTraceback (most recent call last):\n"

// withoutTraceback is s without Mistral's traceback and the colon that
// introduces it after "[...]".
func withoutTraceback(s string) string {
	i := strings.Index(s, tracebackMark)
	if i < 0 {
		return s
	}
	s = s[:i]
	if strings.HasSuffix(s, "]:") {
		s = s[:len(s)-1]
	}
	return s
}

// equalJSON compares two decoded JSON values after scrub; a missing
// published map and an empty one are the same.
func equalJSON(a, b any) bool {
	norm := func(v any) any {
		if v == nil {
			return map[string]any{}
		}
		return scrub(v)
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func show(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

// clip keeps reasons on one short line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// category is the part of a reason the summary counts by.
func category(why string) string {
	if strings.HasPrefix(why, "not run yet: ") {
		return why
	}
	c, _, _ := strings.Cut(why, ":")
	return c
}

func TestWithoutTraceback(t *testing.T) {
	tb := "\nTraceback (most recent call last):\n  File \"x.py\", line 1, in f\nKeyError: 'a'\n"
	for _, c := range []struct{ in, want string }{
		{"Failed to run task [error=e, wf=w, task=t]:" + tb, "Failed to run task [error=e, wf=w, task=t]"},
		{"Failed to check and complete [wf_ex_id=x, wf_name=w]: Can not evaluate YAQL expression [expression=$.a, error='a', data={}]" + tb,
			"Failed to check and complete [wf_ex_id=x, wf_name=w]: Can not evaluate YAQL expression [expression=$.a, error='a', data={}]"},
		{"no traceback here: [x]:", "no traceback here: [x]:"},
		{"Traceback (most recent call last):\n at the start, not after a newline", "Traceback (most recent call last):\n at the start, not after a newline"},
	} {
		if got := withoutTraceback(c.in); got != c.want {
			t.Errorf("withoutTraceback(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
