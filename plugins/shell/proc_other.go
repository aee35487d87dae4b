//go:build !linux

package main

import (
	"os"
	"os/exec"
)

// setProcAttr: process groups and parent-death signals are Linux features
// here; elsewhere only the command itself is killed.
func setProcAttr(*exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

func exitCode(state *os.ProcessState) int { return state.ExitCode() }
