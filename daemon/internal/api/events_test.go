package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

// sse is one event as read off the wire.
type sse struct {
	id, event string
	data      map[string]any
}

// openEvents opens the stream and returns its response and a channel of
// its events, closed when the server ends the stream.
func openEvents(t *testing.T, url, lastID string) (*http.Response, <-chan sse) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan sse, 100)
	if resp.StatusCode != http.StatusOK {
		close(ch)
		return resp, ch
	}
	go func() {
		defer close(ch)
		r := bufio.NewReader(resp.Body)
		var ev sse
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.event != "" {
					ch <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &ev.data); err != nil {
					ev.data = map[string]any{"undecodable": line}
				}
			}
		}
	}()
	return resp, ch
}

// next returns the next event, or fails the test when none comes.
func next(t *testing.T, ch <-chan sse) (sse, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return sse{}, false
}

func request(t *testing.T, method, url, ctype, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, url, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), string(b))
	}
}

// TestExecutionEvents follows a real execution whose middle task waits
// for an async result: the stream shows it running, stays open while it
// waits, shows the rest once the result is given, and ends with the
// execution's final state.
func TestExecutionEvents(t *testing.T) {
	url, _ := startServer(t)
	request(t, "POST", url+"/v2/workflows", "text/plain", `---
version: '2.0'
events_wf:
  tasks:
    first:
      action: std.echo output="one"
      on-success: wait
    wait:
      action: std.async_noop
      on-success: last
    last:
      action: std.echo output="three"
`, nil)
	var ex api.Execution
	request(t, "POST", url+"/v2/executions", "application/json", `{"workflow_name": "events_wf"}`, &ex)

	resp, events := openEvents(t, url+"/v2/executions/"+ex.ID+"/events", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	states := map[string][]string{} // task name -> states in order of events
	lastID := int64(0)
	var waitTask string
	record := func(ev sse) {
		id, err := strconv.ParseInt(ev.id, 10, 64)
		require.NoError(t, err, "event id %q", ev.id)
		require.GreaterOrEqual(t, id, lastID, "event ids never go back")
		lastID = id
		if ev.event == api.EventTask {
			require.Equal(t, ex.ID, ev.data["workflow_execution_id"])
			name := ev.data["name"].(string)
			states[name] = append(states[name], ev.data["state"].(string))
			if name == "wait" {
				waitTask = ev.data["id"].(string)
			}
		}
	}
	// Until the async task runs, and nothing after it: it waits.
	for !contains(states["wait"], "RUNNING") || last(states["first"]) != "SUCCESS" {
		ev, ok := next(t, events)
		require.True(t, ok, "the stream ended before the async task ran")
		record(ev)
		if ev.event == api.EventExecution {
			require.Equal(t, "RUNNING", ev.data["state"])
			require.Equal(t, "events_wf", ev.data["workflow_name"])
		}
	}
	require.Empty(t, states["last"])

	var aes api.ActionExecutionList
	request(t, "GET", url+"/v2/tasks/"+waitTask+"/action_executions", "", "", &aes)
	require.Len(t, aes.ActionExecutions, 1)
	request(t, "PUT", url+"/v2/action_executions/"+aes.ActionExecutions[0].ID, "application/json",
		`{"state": "SUCCESS", "output": "two"}`, nil)

	var final sse
	for {
		ev, ok := next(t, events)
		if !ok {
			break
		}
		require.Empty(t, final.event, "an event after the final execution event: %v", ev)
		record(ev)
		if ev.event == api.EventExecution && ev.data["state"] != "RUNNING" {
			final = ev
		}
	}
	require.Equal(t, "SUCCESS", final.data["state"], "the stream ends with the final state")
	require.Contains(t, final.data, "output")
	for _, name := range []string{"first", "wait", "last"} {
		require.Equal(t, "SUCCESS", last(states[name]), "task %s: %v", name, states[name])
	}

	// A resume after everything: only the final state, then the end.
	_, events = openEvents(t, url+"/v2/executions/"+ex.ID+"/events", strconv.FormatInt(lastID+10_000_000, 10))
	ev, ok := next(t, events)
	require.True(t, ok)
	require.Equal(t, api.EventExecution, ev.event)
	require.Equal(t, "SUCCESS", ev.data["state"])
	_, ok = next(t, events)
	require.False(t, ok, "the resumed stream ends after the final state")

	// A resume from the start: everything again.
	_, events = openEvents(t, url+"/v2/executions/"+ex.ID+"/events", "0")
	n := 0
	for ev, ok := next(t, events); ok; ev, ok = next(t, events) {
		if ev.event == api.EventTask {
			n++
		}
	}
	require.Equal(t, 3, n, "a stream from the start sends every task")
}

func TestExecutionEventsErrors(t *testing.T) {
	url, _ := startServer(t)
	request(t, "POST", url+"/v2/workflows", "text/plain", "version: '2.0'\nok_wf:\n  tasks:\n    a:\n      action: std.noop\n", nil)
	var ex api.Execution
	request(t, "POST", url+"/v2/executions", "application/json", `{"workflow_name": "ok_wf"}`, &ex)
	tests := []struct {
		name, id, lastID string
		status           int
		detail           string
	}{
		{"unknown execution", "nope", "", http.StatusNotFound, `nope`},
		{"Last-Event-ID not ours", ex.ID, "yesterday", http.StatusBadRequest, "Last-Event-ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := openEvents(t, url+"/v2/executions/"+tc.id+"/events", tc.lastID)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			b, _ := io.ReadAll(resp.Body)
			require.Contains(t, string(b), tc.detail)
		})
	}

	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	request(t, "GET", url+"/openapi.json", "", "", &doc)
	op := doc.Paths["/v2/executions/{id}/events"]["get"]
	require.Contains(t, op.Responses["200"].Content, "text/event-stream", "the stream is in the OpenAPI document")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func last(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[len(list)-1]
}
