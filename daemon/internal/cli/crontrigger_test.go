package cli_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/api/apitest"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// cronBackend is the API fake plus one remembered cron trigger.
type cronBackend struct {
	*apitest.Fake
	last api.CronTriggerRequest
	c    *store.CronTrigger
}

func (b *cronBackend) CreateCronTrigger(_ context.Context, r api.CronTriggerRequest) (*store.CronTrigger, error) {
	b.last = r
	b.c = &store.CronTrigger{ID: "ct-1", Name: r.Name, Pattern: r.Pattern, WorkflowName: r.WorkflowName,
		NextExecutionTime: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), RemainingExecutions: r.RemainingExecutions, CreatedAt: b.Now()}
	return b.c, nil
}
func (b *cronBackend) GetCronTrigger(_ context.Context, n string) (*store.CronTrigger, error) {
	if b.c == nil || (n != b.c.Name && n != b.c.ID) {
		return nil, store.ErrNotFound
	}
	return b.c, nil
}
func (b *cronBackend) ListCronTriggers(context.Context, store.ListOpts) ([]*store.CronTrigger, error) {
	if b.c == nil {
		return nil, nil
	}
	return []*store.CronTrigger{b.c}, nil
}
func (b *cronBackend) DeleteCronTrigger(ctx context.Context, n string) error {
	if _, err := b.GetCronTrigger(ctx, n); err != nil {
		return err
	}
	b.c = nil
	return nil
}

func TestCronTriggerCommands(t *testing.T) {
	b := &cronBackend{Fake: apitest.New()}
	srv := httptest.NewServer(api.New(b, hclog.NewNullLogger(), api.Options{}))
	defer srv.Close()
	e := &env{t: t, fake: b.Fake, url: srv.URL, dir: t.TempDir()}
	out := e.mustRun("cron-trigger", "create", "nightly", "hello_wf", "--pattern", "0 0 * * *", "--count", "3",
		"--input", `{"name":"n","big":12345678901234567890}`, "--params", `{"env":{"k":1}}`, "--first-time", "2026-12-01 00:00")
	if !strings.Contains(out, "nightly") || !strings.Contains(out, "2026-12-01 00:00:00") {
		t.Fatalf("create printed:\n%s", out)
	}
	r := b.last
	if r.Pattern != "0 0 * * *" || *r.RemainingExecutions != 3 || r.WorkflowInput["name"] != "n" || r.WorkflowParams["env"] == nil ||
		!r.FirstExecutionTime.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("server received %+v", r)
	}
	if out := e.mustRun("cron-trigger", "list"); !strings.Contains(out, "nightly") || !strings.Contains(out, "REMAINING") {
		t.Fatalf("list printed:\n%s", out)
	}
	if out := e.mustRun("-o", "json", "cron-trigger", "get", "nightly"); !strings.Contains(out, `"updated_at": null`) {
		t.Fatalf("get -o json printed:\n%s", out)
	}
	e.mustRun("cron-trigger", "delete", "nightly")
	if _, err := e.run("cron-trigger", "get", "nightly"); err == nil || !strings.Contains(err.Error(), "nightly") {
		t.Fatalf("get after delete: %v", err)
	}
}
