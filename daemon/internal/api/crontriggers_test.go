package api_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/api/apitest"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// cronFake adds in-memory cron triggers to the fake backend; the engine's
// own tests cover the real ones.
type cronFake struct {
	*apitest.Fake
	triggers []*store.CronTrigger
	last     api.CronTriggerRequest
}

func (f *cronFake) CreateCronTrigger(_ context.Context, r api.CronTriggerRequest) (*store.CronTrigger, error) {
	f.last = r
	now := f.Now()
	c := &store.CronTrigger{ID: "00000000-0000-4000-8000-00000000000" + string(rune('1'+len(f.triggers))), Name: r.Name,
		Pattern: r.Pattern, WorkflowName: r.WorkflowName, WorkflowID: "wf-id", WorkflowInput: []byte(`{"name":"cron"}`),
		NextExecutionTime: now.Add(time.Minute), RemainingExecutions: r.RemainingExecutions, CreatedAt: now, Scope: "private"}
	if r.FirstExecutionTime != nil {
		c.FirstExecutionTime, c.NextExecutionTime = *r.FirstExecutionTime, *r.FirstExecutionTime
	}
	f.triggers = append(f.triggers, c)
	return c, nil
}

func (f *cronFake) GetCronTrigger(_ context.Context, ident string) (*store.CronTrigger, error) {
	for _, c := range f.triggers {
		if c.ID == ident || c.Name == ident {
			return c, nil
		}
	}
	return nil, store.ErrNotFound
}

func (f *cronFake) ListCronTriggers(_ context.Context, o store.ListOpts) ([]*store.CronTrigger, error) {
	if o.Limit > 0 && o.Limit < len(f.triggers) {
		return f.triggers[:o.Limit], nil
	}
	return f.triggers, nil
}

func (f *cronFake) DeleteCronTrigger(ctx context.Context, ident string) error {
	c, err := f.GetCronTrigger(ctx, ident)
	if err != nil {
		return err
	}
	for i, x := range f.triggers {
		if x == c {
			f.triggers = append(f.triggers[:i], f.triggers[i+1:]...)
		}
	}
	return nil
}

func newCronHarness(t *testing.T) (*harness, *cronFake) {
	f := &cronFake{Fake: apitest.New()}
	logs := &bytes.Buffer{}
	return &harness{t: t, fake: f.Fake, h: api.New(f, hclog.New(&hclog.LoggerOptions{Output: logs}), api.Options{}), logs: logs}, f
}

// TestCronTriggerFieldsMatchMistral compares the field names of the cron
// trigger answers with the real Mistral 15's (testdata/mistral/README.md).
func TestCronTriggerFieldsMatchMistral(t *testing.T) {
	h, f := newCronHarness(t)
	// As python-mistralclient sends it: input and params JSON-encoded.
	created := h.postJSON("/v2/cron_triggers", `{"name":"every_min","workflow_name":"hello_wf","pattern":"* * * * *",`+
		`"first_execution_time":"2026-12-01 10:30","remaining_executions":3,`+
		`"workflow_input":"{\"name\": \"cron\"}","workflow_params":"{\"env\": {\"k\": 1}}"}`)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	if r := f.last; r.WorkflowInput["name"] != "cron" || r.WorkflowParams["env"] == nil || *r.RemainingExecutions != 3 ||
		!r.FirstExecutionTime.Equal(time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)) {
		t.Fatalf("decoded request = %+v", r)
	}
	h.postJSON("/v2/cron_triggers", `{"name":"plain","workflow_id":"wf-id","pattern":"*/5 * * * *"}`)
	for _, tc := range []struct {
		file string
		got  response
	}{
		{"cron_triggers_create.json", created},
		{"cron_triggers_get.json", h.get("/v2/cron_triggers/every_min")},
		{"cron_triggers_list.json", h.get("/v2/cron_triggers")},
		{"cron_triggers_list_limit1.json", h.get("/v2/cron_triggers?limit=1")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "mistral", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.got.status >= 300 {
				t.Fatalf("status %d: %s", tc.got.status, tc.got.raw)
			}
			onlyOurs, onlyMistral := diff(fieldSet(t, tc.got.raw), fieldSet(t, want))
			if len(onlyOurs)+len(onlyMistral) > 0 {
				t.Errorf("field names differ from Mistral 15's\n  only ours:    %s\n  only Mistral: %s",
					strings.Join(onlyOurs, ", "), strings.Join(onlyMistral, ", "))
			}
		})
	}
	if r := h.get("/v2/cron_triggers/every_min"); r.body["updated_at"] != nil || r.body["first_execution_time"] != "2026-12-01 10:30:00" {
		t.Errorf("get = %s", r.raw)
	}
	if r := h.do(http.MethodDelete, "/v2/cron_triggers/plain", "", nil); r.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	wantProblem(t, h.do(http.MethodDelete, "/v2/cron_triggers/plain", "", nil), http.StatusNotFound, "plain")
	wantProblem(t, h.get("/v2/cron_triggers/nope"), http.StatusNotFound, "nope")
}

// Wire-level mistakes are 400s naming the field.
func TestCronTriggerBadBodies(t *testing.T) {
	h, _ := newCronHarness(t)
	for _, tc := range []struct{ body, want string }{
		{`{"workflow_name":"w","pattern":"* * * * *"}`, "name is required"},
		{`{"name":"x","pattern":"* * * * *"}`, "workflow_name is required"},
		{`{"name":"x","workflow_name":"w","first_execution_time":"tomorrow"}`, "first_execution_time"},
		{`{"name":"x","workflow_name":"w","first_execution_time":"2026-12-01 10:30:00"}`, "YYYY-MM-DD HH:MM"},
		{`{"name":"x","workflow_name":"w","pattern":"* * * * *","workflow_input":"[1]"}`, "workflow_input: not a JSON object"},
		{`{"name":"x","workflow_name":"w","pattern":"* * * * *","workflow_params":"{"}`, "workflow_params"},
		{`{"name":"x","workflow_name":"w","pattern":"* * * * *","remaining_executions":0}`, "remaining_executions"},
	} {
		wantProblem(t, h.postJSON("/v2/cron_triggers", tc.body), http.StatusBadRequest, tc.want)
	}
	wantProblem(t, h.get("/v2/cron_triggers?sort_keys=updated_at"), http.StatusBadRequest, "updated_at")
}
