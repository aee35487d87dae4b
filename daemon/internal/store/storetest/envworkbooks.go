package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// testEnvironments covers environments: create, read, update by name
// (Mistral's PUT /v2/environments), list and delete; updated_at stays
// unset until the first update, as Mistral shows it.
func testEnvironments(t *testing.T, s store.Store) {
	e := &store.Environment{Name: "prod", Description: "the real one", Variables: []byte(`{"region":"b","n":1}`), CreatedAt: t0}
	bare := &store.Environment{Name: "bare", CreatedAt: t0.Add(time.Minute)}
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create", tx.CreateEnvironment(e), nil)
		wantErr(t, "create bare", tx.CreateEnvironment(bare), nil)
		wantErr(t, "duplicate name", tx.CreateEnvironment(&store.Environment{Name: "prod"}), store.ErrConflict)
		wantFailure(t, "empty name", tx.CreateEnvironment(&store.Environment{}))
		return nil
	})
	if e.ID == "" || e.CreatedAt.IsZero() || !e.UpdatedAt.IsZero() || e.Scope != "private" {
		t.Fatalf("create did not fill id, created_at, scope or set updated_at: %+v", e)
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetEnvironment("prod")
		wantErr(t, "get", err, nil)
		equal(t, "get", got, e)
		got, err = tx.GetEnvironment("bare")
		wantErr(t, "get bare", err, nil)
		if got.Variables != nil || got.Description != "" {
			t.Fatalf("unset fields read back set: %+v", got)
		}
		_, err = tx.GetEnvironment(e.ID)
		wantErr(t, "get by id (Mistral names environments only by name)", err, store.ErrNotFound)
		_, err = tx.GetEnvironment("nope")
		wantErr(t, "get missing", err, store.ErrNotFound)
		if err != nil && !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("not-found error %q does not name the environment", err)
		}
		return nil
	})

	upd := &store.Environment{Name: "prod", Description: "moved", Variables: []byte(`{"region":"c"}`), Scope: "public"}
	tx(t, s, func(tx store.Tx) error { return tx.UpdateEnvironment(upd) })
	equal(t, "update filled id", upd.ID, e.ID)
	equal(t, "update kept created_at", upd.CreatedAt, e.CreatedAt)
	if upd.UpdatedAt.IsZero() {
		t.Fatal("update did not set updated_at")
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetEnvironment("prod")
		wantErr(t, "get after update", err, nil)
		equal(t, "after update", got, upd)
		wantErr(t, "update missing", tx.UpdateEnvironment(&store.Environment{Name: "ghost"}), store.ErrNotFound)
		return nil
	})

	tx(t, s, func(tx store.Tx) error {
		for i, n := range []string{"d", "c"} {
			wantErr(t, "create "+n, tx.CreateEnvironment(&store.Environment{ID: "id-" + n, Name: n, CreatedAt: t0.Add(time.Duration(i+1) * time.Hour)}), nil)
		}
		return nil
	})
	cases := []struct {
		name string
		opts store.ListOpts
		want string
	}{
		{"default is creation order", store.ListOpts{}, "prod bare d c"},
		{"by name desc", store.ListOpts{SortKeys: []string{"name"}, SortDirs: []string{"desc"}}, "prod d c bare"},
		{"filter on scope", store.ListOpts{Filters: map[string]string{"scope": "public"}}, "prod"},
		{"after a marker", store.ListOpts{SortKeys: []string{"name"}, Marker: "id-c", Limit: 2}, "d prod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx(t, s, func(tx store.Tx) error {
				got, err := tx.ListEnvironments(c.opts)
				wantErr(t, "list", err, nil)
				names := make([]string, len(got))
				for i, e := range got {
					names[i] = e.Name
				}
				equal(t, "names", strings.Join(names, " "), c.want)
				return nil
			})
		})
	}
	tx(t, s, func(tx store.Tx) error {
		_, err := tx.ListEnvironments(store.ListOpts{SortKeys: []string{"updated_at"}})
		wantErr(t, "nullable sort key", err, store.ErrBadListOpts)
		wantErr(t, "delete", tx.DeleteEnvironment("prod"), nil)
		wantErr(t, "delete again", tx.DeleteEnvironment("prod"), store.ErrNotFound)
		_, err = tx.GetEnvironment("prod")
		wantErr(t, "get deleted", err, store.ErrNotFound)
		return nil
	})
}

// testWorkbooks covers workbooks: create, read by name within a
// namespace, update, list and delete. Deleting a workbook leaves the
// workflow definitions named after it, as in Mistral.
func testWorkbooks(t *testing.T, s store.Store) {
	w := &store.Workbook{Name: "wb", Definition: "version: '2.0'\nname: wb\n", Tags: []string{"x", "y"}}
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create", tx.CreateWorkbook(w), nil)
		wantErr(t, "duplicate", tx.CreateWorkbook(&store.Workbook{Name: "wb", Definition: "x"}), store.ErrConflict)
		wantErr(t, "same name in another namespace", tx.CreateWorkbook(&store.Workbook{Name: "wb", Namespace: "ns", Definition: "x"}), nil)
		wantFailure(t, "empty name", tx.CreateWorkbook(&store.Workbook{Definition: "x"}))
		return nil
	})
	if w.ID == "" || w.CreatedAt.IsZero() || !w.UpdatedAt.IsZero() || w.Scope != "private" {
		t.Fatalf("create did not fill id, created_at, scope or set updated_at: %+v", w)
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetWorkbook("", "wb")
		wantErr(t, "get", err, nil)
		equal(t, "get", got, w)
		other, err := tx.GetWorkbook("ns", "wb")
		wantErr(t, "get in namespace", err, nil)
		if other.ID == w.ID || other.Tags != nil {
			t.Fatalf("namespace ns gave %+v", other)
		}
		_, err = tx.GetWorkbook("", "nope")
		wantErr(t, "get missing", err, store.ErrNotFound)
		if err != nil && !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("not-found error %q does not name the workbook", err)
		}
		return nil
	})

	upd := &store.Workbook{Name: "wb", Definition: "version: '2.0'\nname: wb\ndescription: new\n", Scope: "public"}
	tx(t, s, func(tx store.Tx) error { return tx.UpdateWorkbook(upd) })
	equal(t, "update filled id", upd.ID, w.ID)
	equal(t, "update kept created_at", upd.CreatedAt, w.CreatedAt)
	if upd.UpdatedAt.IsZero() {
		t.Fatal("update did not set updated_at")
	}
	tx(t, s, func(tx store.Tx) error {
		got, err := tx.GetWorkbook("", "wb")
		wantErr(t, "get after update", err, nil)
		equal(t, "after update", got, upd)
		wantErr(t, "update missing", tx.UpdateWorkbook(&store.Workbook{Name: "ghost", Definition: "x"}), store.ErrNotFound)
		return nil
	})

	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "create a", tx.CreateWorkbook(&store.Workbook{ID: "id-a", Name: "a", Definition: "a", CreatedAt: t0.Add(time.Hour)}), nil)
		wantErr(t, "a workflow of wb", tx.CreateWorkflowDef(&store.WorkflowDef{Name: "wb.wf", Definition: "wf: {}"}), nil)
		return nil
	})
	cases := []struct {
		name string
		opts store.ListOpts
		want string
	}{
		{"by name", store.ListOpts{SortKeys: []string{"name", "namespace"}}, "a/ wb/ wb/ns"},
		{"default namespace", store.ListOpts{SortKeys: []string{"name"}, Filters: map[string]string{"namespace": ""}}, "a/ wb/"},
		{"after a marker", store.ListOpts{SortKeys: []string{"name", "namespace"}, Marker: "id-a", Limit: 1}, "wb/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx(t, s, func(tx store.Tx) error {
				got, err := tx.ListWorkbooks(c.opts)
				wantErr(t, "list", err, nil)
				names := make([]string, len(got))
				for i, w := range got {
					names[i] = w.Name + "/" + w.Namespace
				}
				equal(t, "names", strings.Join(names, " "), c.want)
				return nil
			})
		})
	}
	tx(t, s, func(tx store.Tx) error {
		wantErr(t, "delete", tx.DeleteWorkbook("", "wb"), nil)
		wantErr(t, "delete again", tx.DeleteWorkbook("", "wb"), store.ErrNotFound)
		_, err := tx.GetWorkbook("ns", "wb")
		wantErr(t, "the other namespace's stays", err, nil)
		_, err = tx.GetWorkflowDef("wb.wf")
		wantErr(t, "its workflow stays, as in Mistral", err, nil)
		return nil
	})
}
