package api

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// The rules of the event stream, read by read: what is sent, in which
// order, what a resume skips, and that a final state ends the stream.
func TestEventDiff(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ex := func(state string, s float64) *store.Execution {
		return &store.Execution{ID: "e", WorkflowName: "wf", State: state, UpdatedAt: at(s)}
	}
	task := func(name, state string, s float64) *store.TaskExecution {
		return &store.TaskExecution{ID: name, ExecutionID: "e", Name: name, State: state, UpdatedAt: at(s)}
	}
	type read struct {
		exec  *store.Execution
		tasks []*store.TaskExecution
		want  string // events sent, "task:NAME:STATE" or "exec:STATE", space-separated
		done  bool
	}
	tests := []struct {
		name  string
		since time.Time
		reads []read
	}{
		{"first read sends all, in time order", time.Time{}, []read{
			{ex("RUNNING", 0), []*store.TaskExecution{task("b", "RUNNING", 2), task("a", "SUCCESS", 1)},
				"exec:RUNNING task:a:SUCCESS task:b:RUNNING", false},
		}},
		{"only changes after the first read", time.Time{}, []read{
			{ex("RUNNING", 0), []*store.TaskExecution{task("a", "RUNNING", 1)}, "exec:RUNNING task:a:RUNNING", false},
			{ex("RUNNING", 0), []*store.TaskExecution{task("a", "RUNNING", 1)}, "", false},
			{ex("RUNNING", 0), []*store.TaskExecution{task("a", "SUCCESS", 2), task("b", "RUNNING", 2)}, "task:a:SUCCESS task:b:RUNNING", false},
		}},
		{"a state change with the same stamp is a change", time.Time{}, []read{
			{ex("RUNNING", 0), []*store.TaskExecution{task("a", "RUNNING", 1)}, "exec:RUNNING task:a:RUNNING", false},
			{ex("RUNNING", 0), []*store.TaskExecution{task("a", "SUCCESS", 1)}, "task:a:SUCCESS", false},
		}},
		{"a final execution comes last and ends the stream", time.Time{}, []read{
			{ex("RUNNING", 0), nil, "exec:RUNNING", false},
			{ex("ERROR", 3), []*store.TaskExecution{task("a", "ERROR", 3), task("b", "SUCCESS", 2)}, "task:b:SUCCESS task:a:ERROR exec:ERROR", true},
		}},
		{"a resume skips what was written before the slack", at(10), []read{
			{ex("RUNNING", 0), []*store.TaskExecution{task("a", "SUCCESS", 1), task("b", "SUCCESS", 9), task("c", "RUNNING", 11)},
				"task:b:SUCCESS task:c:RUNNING", false},
			{ex("RUNNING", 0), []*store.TaskExecution{task("a", "SUCCESS", 1), task("b", "SUCCESS", 9), task("c", "SUCCESS", 12)},
				"task:c:SUCCESS", false},
		}},
		{"a resume of an ended execution still gets its final state", at(100), []read{
			{ex("SUCCESS", 5), []*store.TaskExecution{task("a", "SUCCESS", 4)}, "exec:SUCCESS", true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newEventDiff(tc.since)
			last := int64(-1)
			for i, r := range tc.reads {
				events, done := d.next(r.exec, r.tasks)
				var got []string
				for _, ev := range events {
					switch v := ev.data.(type) {
					case Task:
						got = append(got, "task:"+v.Name+":"+v.State)
						if ev.name != EventTask {
							t.Errorf("read %d: a task sent as %q", i, ev.name)
						}
					case Execution:
						got = append(got, "exec:"+v.State)
						if ev.name != EventExecution {
							t.Errorf("read %d: the execution sent as %q", i, ev.name)
						}
					default:
						t.Fatalf("read %d: event data %T", i, ev.data)
					}
					id, err := strconv.ParseInt(d.id(ev), 10, 64)
					if err != nil || id < last {
						t.Errorf("read %d: id %d after %d: ids must be numbers that never go back (%v)", i, id, last, err)
					}
					last = id
				}
				if g := strings.Join(got, " "); g != r.want || done != r.done {
					t.Errorf("read %d: sent %q done=%v, want %q done=%v", i, g, done, r.want, r.done)
				}
			}
		})
	}
}

func TestParseEventID(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"1796040000000000", time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), false},
		{" 0 ", time.UnixMicro(0).UTC(), false},
		{"abc", time.Time{}, true},
		{"-5", time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := parseEventID(tc.in)
		if (err != nil) != tc.wantErr || !got.Equal(tc.want) {
			t.Errorf("parseEventID(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "Last-Event-ID") {
			t.Errorf("error %q does not name the header", err)
		}
	}
}
