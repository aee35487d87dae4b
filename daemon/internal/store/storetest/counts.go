package storetest

import (
	"fmt"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

func testCounts(t *testing.T, s store.Store) {
	count := func() store.Counts {
		var c store.Counts
		tx(t, s, func(tx store.Tx) error {
			counter, ok := tx.(store.Counter)
			if !ok {
				t.Fatalf("%T does not count", tx)
			}
			var err error
			c, err = counter.Counts()
			return err
		})
		return c
	}
	equal(t, "empty", count(), store.Counts{Executions: map[string]int{}, Tasks: map[string]int{}})

	tx(t, s, func(tx store.Tx) error {
		for i, state := range []string{store.StateRunning, store.StateRunning, store.StateSuccess} {
			e := &store.Execution{WorkflowName: "wf", State: state}
			wantErr(t, "create execution", tx.CreateExecution(e), nil)
			if i > 0 {
				continue
			}
			for _, ts := range []string{store.StateRunning, store.StateError, store.StateError} {
				wantErr(t, "create task", tx.CreateTaskExecution(&store.TaskExecution{ExecutionID: e.ID, WorkflowName: "wf", Name: ts, State: ts}), nil)
			}
		}
		for i := 0; i < 2; i++ {
			wantErr(t, "outbox", tx.AddOutbox(&store.OutboxMsg{Subject: "s", MsgID: fmt.Sprint(i)}), nil)
		}
		return nil
	})
	equal(t, "counts", count(), store.Counts{
		Executions: map[string]int{store.StateRunning: 2, store.StateSuccess: 1},
		Tasks:      map[string]int{store.StateRunning: 1, store.StateError: 2},
		Outbox:     2,
	})
}
