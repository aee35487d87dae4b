package api_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/api/apitest"
)

// invalidDef is what a validatingFake reports for a definition holding
// "bad": a BadRequest error, as the engine's definition errors are.
type invalidDef struct{ msg string }

func (e *invalidDef) Error() string    { return e.msg }
func (e *invalidDef) BadRequest() bool { return true }

// validatingFake is the API's fake backend plus the optional Validator.
// It records which method was called, so the test checks each path is
// wired to its own method.
type validatingFake struct {
	*apitest.Fake
	called string
}

func (f *validatingFake) check(kind, def string) error {
	f.called = kind
	switch {
	case strings.Contains(def, "boom"):
		return errors.New("disk on fire")
	case strings.Contains(def, "bad"):
		return &invalidDef{msg: "definition:3:5: workflow \"wf\", task \"t1\": unknown key \"bad\""}
	}
	return nil
}

func (f *validatingFake) ValidateWorkflows(_ context.Context, def string) error {
	return f.check("workflows", def)
}
func (f *validatingFake) ValidateWorkbook(_ context.Context, def string) error {
	return f.check("workbook", def)
}
func (f *validatingFake) ValidateActions(_ context.Context, def string) error {
	return f.check("actions", def)
}

var _ api.Validator = (*validatingFake)(nil)

// TestValidateEndpoints checks the three validate endpoints: Mistral's
// field names (against the captures in testdata/mistral), 200 with
// valid=false and the backend's words for an invalid definition, 500 for
// a server error, and 501 for a backend that cannot validate.
func TestValidateEndpoints(t *testing.T) {
	f := &validatingFake{Fake: apitest.New()}
	h := &harness{t: t, fake: f.Fake, h: api.New(f, hclog.NewNullLogger(), api.Options{}), logs: &bytes.Buffer{}}
	for _, c := range []struct{ path, kind, capture string }{
		{"/v2/workflows/validate", "workflows", "workflows_validate"},
		{"/v2/workbooks/validate", "workbook", "workbooks_validate"},
		{"/v2/actions/validate", "actions", "actions_validate"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			for _, v := range []struct{ body, suffix string }{{"good", ""}, {"bad", "_invalid"}} {
				f.called = ""
				got := h.do(http.MethodPost, c.path, "text/plain", []byte(v.body))
				if got.status != http.StatusOK || f.called != c.kind {
					t.Fatalf("%s %q: status %d, called %q: %s", c.path, v.body, got.status, f.called, got.raw)
				}
				want, err := os.ReadFile(filepath.Join("testdata", "mistral", c.capture+v.suffix+".json"))
				if err != nil {
					t.Fatal(err)
				}
				onlyOurs, onlyMistral := diff(fieldSet(t, got.raw), fieldSet(t, want))
				if len(onlyOurs)+len(onlyMistral) > 0 {
					t.Errorf("%s %q: only ours %v, only Mistral %v", c.path, v.body, onlyOurs, onlyMistral)
				}
				wantValid := v.body == "good"
				if got.body["valid"] != wantValid {
					t.Errorf("%s %q: valid = %v", c.path, v.body, got.body["valid"])
				}
				if !wantValid && !strings.Contains(got.body["error"].(string), `definition:3:5: workflow "wf", task "t1"`) {
					t.Errorf("%s: error = %q", c.path, got.body["error"])
				}
			}
			if got := h.do(http.MethodPost, c.path, "text/plain", []byte("boom")); got.status != http.StatusInternalServerError ||
				strings.Contains(string(got.raw), "disk on fire") {
				t.Errorf("%s: a server error gave %d: %s", c.path, got.status, got.raw)
			}
		})
	}
	plain := newHarness(t, api.Options{})
	if got := plain.do(http.MethodPost, "/v2/workflows/validate", "text/plain", []byte("x")); got.status != http.StatusNotImplemented {
		t.Errorf("a backend without Validator gave %d: %s", got.status, got.raw)
	}
}
