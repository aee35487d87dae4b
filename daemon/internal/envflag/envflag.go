// Package envflag lets every command-line flag be set from the environment
// as well (--data-dir from SIROCCO_DATA_DIR), so that the daemon can be
// configured the same way in a shell, a unit file or a container.
package envflag

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Prefix starts every variable name.
const Prefix = "SIROCCO_"

// Name is the environment variable for a flag: SIROCCO_ and the flag name
// in upper case with '-' as '_'.
func Name(flag string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Apply sets each flag of cmd (its own and inherited) that was not given
// on the command line from its environment variable, when that is set. A
// flag given on the command line wins.
func Apply(cmd *cobra.Command) error {
	var err error
	set := func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		v, ok := os.LookupEnv(Name(f.Name))
		if !ok {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", Name(f.Name), v, e)
			return
		}
		f.Changed = true
	}
	cmd.Flags().VisitAll(set)
	cmd.InheritedFlags().VisitAll(set)
	return err
}

// Annotate appends "(env SIROCCO_X)" to each flag's usage so --help shows
// the variable.
func Annotate(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || strings.Contains(f.Usage, Prefix) {
			return
		}
		f.Usage += " (env " + Name(f.Name) + ")"
	})
}
