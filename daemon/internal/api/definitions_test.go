package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

const workbookYAML = `version: '2.0'
name: mc_wb
tags: [wbtag]
workflows:
  hello:
    tasks:
      t1:
        action: std.noop
`

// sameFields compares the field names of an answer with a capture of the
// real Mistral 15's (testdata/mistral/README.md).
func sameFields(t *testing.T, got response, file string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", "mistral", file))
	if err != nil {
		t.Fatal(err)
	}
	if got.status >= 300 {
		t.Fatalf("status %d: %s", got.status, got.raw)
	}
	onlyOurs, onlyMistral := diff(fieldSet(t, got.raw), fieldSet(t, want))
	if len(onlyOurs)+len(onlyMistral) > 0 {
		t.Errorf("field names differ from Mistral 15's (%s)\n  only ours:    %s\n  only Mistral: %s",
			file, strings.Join(onlyOurs, ", "), strings.Join(onlyMistral, ", "))
	}
}

func TestEnvironmentFieldsMatchMistral(t *testing.T) {
	h := newHarness(t, api.Options{})
	// As python-mistralclient sends it: variables JSON-encoded.
	created := h.postJSON("/v2/environments", `{"name":"mc_env","description":"captured","variables":"{\"who\": \"x\", \"n\": 1}","scope":"private"}`)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	if created.body["variables"] != `{"who":"x","n":1}` {
		t.Errorf("variables = %v, want the object's members in the order sent", created.body["variables"])
	}
	updated := h.do(http.MethodPut, "/v2/environments", "application/json", []byte(`{"name":"mc_env","variables":{"who":"y"}}`))
	h.postJSON("/v2/environments", `{"name":"other"}`)
	for _, tc := range []struct {
		file string
		got  response
	}{
		{"environments_create.json", created},
		{"environments_update.json", updated},
		{"environments_get.json", h.get("/v2/environments/mc_env")},
		{"environments_list.json", h.get("/v2/environments")},
		{"environments_list_limit1.json", h.get("/v2/environments?limit=1")},
	} {
		t.Run(tc.file, func(t *testing.T) { sameFields(t, tc.got, tc.file) })
	}
	got := h.get("/v2/environments/mc_env")
	if got.body["description"] != "captured" || got.body["variables"] != `{"who":"y"}` || got.body["updated_at"] == nil {
		t.Errorf("after a PUT of variables only: %s", got.raw)
	}
	if other := h.get("/v2/environments/other"); other.body["description"] != nil || other.body["variables"] != nil || other.body["updated_at"] != nil {
		t.Errorf("members never given must be null: %s", other.raw)
	}
	if r := h.do(http.MethodDelete, "/v2/environments/other", "", nil); r.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	wantProblem(t, h.do(http.MethodDelete, "/v2/environments/other", "", nil), http.StatusNotFound, "other")
	wantProblem(t, h.get("/v2/environments/nope"), http.StatusNotFound, "nope")
	wantProblem(t, h.postJSON("/v2/environments", `{"name":"mc_env"}`), http.StatusConflict, "mc_env")
	wantProblem(t, h.do(http.MethodPut, "/v2/environments", "application/json", []byte(`{"name":"nope"}`)), http.StatusNotFound, "nope")
}

// Wire-level mistakes are 400s naming the member.
func TestEnvironmentBadBodies(t *testing.T) {
	h := newHarness(t, api.Options{})
	for _, tc := range []struct {
		method, body, want string
	}{
		{http.MethodPost, `{"description":"x"}`, "name is required"},
		{http.MethodPost, `{"name":"e","bogus":1}`, `"bogus"`},
		{http.MethodPost, `{"name":"e","variables":"[1]"}`, "variables: not a JSON object"},
		{http.MethodPost, `{"name":"e","variables":"{"}`, "variables"},
		{http.MethodPost, `{"name":"e","variables":5}`, "variables: not a JSON object"},
		{http.MethodPost, `{"name":"e","scope":"everyone"}`, "scope"},
		{http.MethodPut, `{"variables":{}}`, "name is required"},
		{http.MethodPut, `{"name":"e","id":"x"}`, `"id"`},
	} {
		t.Run(tc.method+" "+tc.body, func(t *testing.T) {
			wantProblem(t, h.do(tc.method, "/v2/environments", "application/json", []byte(tc.body)), http.StatusBadRequest, tc.want)
		})
	}
	wantProblem(t, h.get("/v2/environments?sort_keys=updated_at"), http.StatusBadRequest, "updated_at")
}

func TestWorkbookFieldsMatchMistral(t *testing.T) {
	h := newHarness(t, api.Options{})
	created := h.do(http.MethodPost, "/v2/workbooks", "text/plain", []byte(workbookYAML))
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	updated := h.do(http.MethodPut, "/v2/workbooks?scope=private", "text/plain", []byte(workbookYAML+"description: changed\n"))
	h.do(http.MethodPost, "/v2/workbooks", "text/plain", []byte("version: '2.0'\nname: other\n"))
	for _, tc := range []struct {
		file string
		got  response
	}{
		{"workbooks_create.json", created},
		{"workbooks_update.json", updated},
		{"workbooks_get.json", h.get("/v2/workbooks/mc_wb")},
		{"workbooks_list.json", h.get("/v2/workbooks")},
		{"workbooks_list_limit1.json", h.get("/v2/workbooks?limit=1")},
	} {
		t.Run(tc.file, func(t *testing.T) { sameFields(t, tc.got, tc.file) })
	}
	if got := h.get("/v2/workbooks/other"); got.body["updated_at"] != nil || got.body["scope"] != "private" {
		t.Errorf("a new workbook: %s", got.raw)
	}
	if r := h.do(http.MethodDelete, "/v2/workbooks/other", "", nil); r.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	wantProblem(t, h.do(http.MethodDelete, "/v2/workbooks/other", "", nil), http.StatusNotFound, "other")
	wantProblem(t, h.get("/v2/workbooks/nope"), http.StatusNotFound, "nope")
	wantProblem(t, h.do(http.MethodPost, "/v2/workbooks", "text/plain", []byte(workbookYAML)), http.StatusConflict, "mc_wb")
	wantProblem(t, h.do(http.MethodPut, "/v2/workbooks", "text/plain", []byte("version: '2.0'\nname: nope\n")), http.StatusNotFound, "nope")
	for _, tc := range []struct{ method, path, body, want string }{
		{http.MethodPost, "/v2/workbooks", "", "body"},
		{http.MethodPost, "/v2/workbooks?scope=everyone", workbookYAML, "scope"},
		{http.MethodPut, "/v2/workbooks?namespace=ns", workbookYAML, "namespace"},
		{http.MethodGet, "/v2/workbooks/mc_wb?namespace=ns", "", "namespace"},
		{http.MethodGet, "/v2/workbooks?sort_keys=updated_at", "", "updated_at"},
		{http.MethodPost, "/v2/workbooks", "version: '2.0'\n", "name"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantProblem(t, h.do(tc.method, tc.path, "text/plain", []byte(tc.body)), http.StatusBadRequest, tc.want)
		})
	}
}
