package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

// A start that gives an id is answered from the same transaction that
// would start it: an id that exists gives that execution back.
func TestStartWithAnID(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	first, err := r.eng.StartExecution(ctx, api.StartRequest{ID: "given-id", WorkflowName: "chain"})
	if err != nil || first.ID != "given-id" {
		t.Fatalf("start with a new id: %+v, %v", first, err)
	}
	tests := []struct {
		name    string
		req     api.StartRequest
		wantID  string
		wantBad bool
	}{
		{"the same id again", api.StartRequest{ID: "given-id", WorkflowName: "chain"}, "given-id", false},
		{"the same id, no workflow", api.StartRequest{ID: "given-id"}, "given-id", false},
		{"a new id, no workflow", api.StartRequest{ID: "other-id"}, "", true},
		{"no id, no workflow", api.StartRequest{}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, tc.req)
			var bad interface{ BadRequest() bool }
			if tc.wantBad {
				if !errors.As(err, &bad) {
					t.Fatalf("got %+v, %v; want a bad request", ex, err)
				}
				return
			}
			if err != nil || ex.ID != tc.wantID || ex.CreatedAt != first.CreatedAt {
				t.Fatalf("got %+v, %v; want execution %s as first started", ex, err, tc.wantID)
			}
		})
	}
	if _, err := r.eng.GetExecution(ctx, "other-id"); err == nil {
		t.Error("a start without a workflow created an execution")
	}
}
