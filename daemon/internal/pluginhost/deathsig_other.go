//go:build !linux

package pluginhost

import "os/exec"

// setParentDeathSignal has no kernel support outside Linux; there the SDK's
// parent watch (the plugin exits when it is re-parented) is what keeps a
// plugin from outliving its host.
func setParentDeathSignal(*exec.Cmd) {}
