package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// testActionDefs covers ad-hoc action definitions: create, read by name
// and id, update by name (Mistral's PUT /v2/actions), list and delete.
func testActionDefs(t *testing.T, s store.Store) {
	d := &store.ActionDef{
		Name: "greet", Definition: "version: '2.0'\ngreet:\n  base: std.echo\n", Spec: []byte(`{"base":"std.echo"}`),
		Description: "says hello", Input: `name, greeting="hi"`, Tags: []string{"a"},
	}
	tx(t, s, func(tx store.Tx) error { return tx.CreateActionDef(d) })
	if d.ID == "" || d.CreatedAt.IsZero() || !d.UpdatedAt.Equal(d.CreatedAt) || d.Scope != "private" {
		t.Fatalf("create did not fill id, timestamps, scope: %+v", d)
	}
	tx(t, s, func(tx store.Tx) error {
		byName, err := tx.GetActionDef("greet")
		wantErr(t, "get by name", err, nil)
		equal(t, "get by name", byName, d)
		byID, err := tx.GetActionDef(d.ID)
		wantErr(t, "get by id", err, nil)
		equal(t, "get by id", byID, d)
		_, err = tx.GetActionDef("nope")
		wantErr(t, "get missing", err, store.ErrNotFound)
		if err != nil && !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("not-found error %q does not name the action", err)
		}
		wantErr(t, "create duplicate", tx.CreateActionDef(&store.ActionDef{Name: "greet", Definition: "x"}), store.ErrConflict)
		wantErr(t, "same name in another namespace", tx.CreateActionDef(&store.ActionDef{Name: "greet", Namespace: "ns", Definition: "x"}), nil)
		return nil
	})

	upd := &store.ActionDef{Name: "greet", Definition: "v2", Spec: []byte(`{"v":2}`), Input: "x", Scope: "public"}
	tx(t, s, func(tx store.Tx) error { return tx.UpdateActionDef(upd) })
	equal(t, "update filled id", upd.ID, d.ID)
	equal(t, "update kept created_at", upd.CreatedAt, d.CreatedAt)
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetActionDef("greet")
		wantErr(t, "get after update", err, nil)
		equal(t, "after update", got, upd)
		wantErr(t, "update missing", tx.UpdateActionDef(&store.ActionDef{Name: "ghost"}), store.ErrNotFound)
		return nil
	})

	tx(t, s, func(tx store.Tx) error {
		for i, n := range []string{"b", "a"} {
			wantErr(t, "create "+n, tx.CreateActionDef(&store.ActionDef{Name: n, Definition: n, CreatedAt: t0.Add(time.Duration(i) * time.Minute)}), nil)
		}
		cases := []struct {
			name string
			opts store.ListOpts
			want string
		}{
			{"by name", store.ListOpts{SortKeys: []string{"name"}, Filters: map[string]string{"namespace": ""}}, "a b greet"},
			{"namespace", store.ListOpts{Filters: map[string]string{"namespace": "ns"}}, "greet"},
		}
		for _, c := range cases {
			got, err := tx.ListActionDefs(c.opts)
			wantErr(t, "list "+c.name, err, nil)
			var names []string
			for _, d := range got {
				names = append(names, d.Name)
			}
			equal(t, "list "+c.name, strings.Join(names, " "), c.want)
		}
		wantErr(t, "delete by name", tx.DeleteActionDef("greet"), nil)
		wantErr(t, "delete again", tx.DeleteActionDef("greet"), store.ErrNotFound)
		a, err := tx.GetActionDef("a")
		wantErr(t, "get a", err, nil)
		wantErr(t, "delete by id", tx.DeleteActionDef(a.ID), nil)
		_, err = tx.GetActionDef("b")
		wantErr(t, "b survives", err, nil)
		return nil
	})
}

// testActionRuns covers an action run without a workflow: its description
// and ad-hoc chain come back as written, and it can be deleted.
func testActionRuns(t *testing.T, s store.Store) {
	plain := &store.ActionExecution{Name: "std.echo", State: store.StateRunning, Input: []byte(`{"output":1}`)}
	adhoc := &store.ActionExecution{Name: "greet", Description: "hello run", Spec: []byte(`[{"name":"greet","base":"std.echo"}]`),
		State: store.StateRunning, Input: []byte(`{"name":"x"}`)}
	tx(t, s, func(tx store.Tx) error {
		for _, a := range []*store.ActionExecution{plain, adhoc} {
			wantErr(t, "create "+a.Name, tx.CreateActionExecution(a), nil)
		}
		return nil
	})
	tx(t, s, func(tx store.Tx) error {
		for _, want := range []*store.ActionExecution{plain, adhoc} {
			got, err := tx.GetActionExecution(want.ID)
			wantErr(t, "get "+want.Name, err, nil)
			equal(t, want.Name+" description", got.Description, want.Description)
			equal(t, want.Name+" spec", string(got.Spec), string(want.Spec))
		}
		wantErr(t, "delete", tx.DeleteActionExecution(adhoc.ID), nil)
		wantErr(t, "delete again", tx.DeleteActionExecution(adhoc.ID), store.ErrNotFound)
		_, err := tx.GetActionExecution(adhoc.ID)
		wantErr(t, "get deleted", err, store.ErrNotFound)
		_, err = tx.GetActionExecution(plain.ID)
		wantErr(t, "the other stays", err, nil)
		return nil
	})
}
