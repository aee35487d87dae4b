package cli

import (
	"os"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// addConnFlags adds the flags for a server that requires a token or
// serves a certificate the system does not trust. Each also reads its
// SIROCCO_* variable; the token is best given that way, since a command
// line is visible to every user of the host.
func addConnFlags(f *pflag.FlagSet, o *client.Options) {
	insecure, _ := strconv.ParseBool(os.Getenv("SIROCCO_INSECURE"))
	f.StringVar(&o.Token, "token", os.Getenv("SIROCCO_TOKEN"), "bearer token of the server (env SIROCCO_TOKEN)")
	f.StringVar(&o.CACert, "ca-cert", os.Getenv("SIROCCO_CA_CERT"), "PEM file of the CA that signed the server's certificate (env SIROCCO_CA_CERT)")
	f.BoolVar(&o.Insecure, "insecure", insecure, "do not verify the server's certificate; for test rigs only (env SIROCCO_INSECURE)")
}
