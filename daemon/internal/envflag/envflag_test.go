package envflag

import (
	"testing"

	"github.com/spf13/cobra"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{name: "default", want: "127.0.0.1:8989"},
		{name: "env", env: map[string]string{"SIROCCO_LISTEN": "0.0.0.0:1"}, want: "0.0.0.0:1"},
		{name: "flag wins", args: []string{"--listen", "1.2.3.4:5"}, env: map[string]string{"SIROCCO_LISTEN": "0.0.0.0:1"}, want: "1.2.3.4:5"},
		{name: "bad env value", env: map[string]string{"SIROCCO_CAPACITY": "many"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var listen string
			var capacity int
			var applyErr error
			cmd := &cobra.Command{Use: "x", RunE: func(c *cobra.Command, _ []string) error {
				applyErr = Apply(c)
				return nil
			}}
			cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8989", "address")
			cmd.Flags().IntVar(&capacity, "capacity", 1, "n")
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if tc.wantErr {
				if applyErr == nil {
					t.Fatal("want an error for a bad environment value")
				}
				return
			}
			if applyErr != nil {
				t.Fatal(applyErr)
			}
			if listen != tc.want {
				t.Fatalf("listen = %q, want %q", listen, tc.want)
			}
		})
	}
}

func TestName(t *testing.T) {
	if got := Name("data-dir"); got != "SIROCCO_DATA_DIR" {
		t.Fatalf("Name(data-dir) = %q", got)
	}
}
