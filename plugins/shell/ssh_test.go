package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/sirocco-wf/sirocco/sdk"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

// testKeys are client keys in the formats users have them in.
type testKeys struct {
	ed25519PEM   string // OpenSSH format
	encryptedPEM string // the same key, OpenSSH format, passphrase "open sesame"
	rsaPEM       string // PKCS #1, as Mistral-era keys are
	ed25519, rsa ssh.PublicKey
	unauthorized string // a key no server accepts
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	var k testKeys
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(edPriv, "test")
	require.NoError(t, err)
	k.ed25519PEM = string(pem.EncodeToMemory(block))
	block, err = ssh.MarshalPrivateKeyWithPassphrase(edPriv, "test", []byte("open sesame"))
	require.NoError(t, err)
	k.encryptedPEM = string(pem.EncodeToMemory(block))
	signer, err := ssh.NewSignerFromKey(edPriv)
	require.NoError(t, err)
	k.ed25519 = signer.PublicKey()

	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	k.rsaPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaPriv)}))
	signer, err = ssh.NewSignerFromKey(rsaPriv)
	require.NoError(t, err)
	k.rsa = signer.PublicKey()

	_, other, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err = ssh.MarshalPrivateKey(other, "other")
	require.NoError(t, err)
	k.unauthorized = string(pem.EncodeToMemory(block))
	return k
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestSSH(t *testing.T) {
	keys := newTestKeys(t)
	srv := newSSHServer(t, sshServerOptions{password: "pw", authorized: []ssh.PublicKey{keys.ed25519, keys.rsa}})
	other := newSSHServer(t, sshServerOptions{password: "pw"})
	cfg := testConfig(t)
	writeFile(t, filepath.Join(cfg.KeyDir, "deploy"), keys.ed25519PEM)
	rsaFile := writeFile(t, filepath.Join(t.TempDir(), "rsa.pem"), keys.rsaPEM)
	h := sdktest.New(t, NewPlugin(cfg))

	// A key directory whose default key the server accepts.
	withDefault := testConfig(t)
	writeFile(t, filepath.Join(withDefault.KeyDir, "id_ed25519"), keys.ed25519PEM)
	hDefault := sdktest.New(t, NewPlugin(withDefault))

	base := func(extra map[string]any) map[string]any {
		in := map[string]any{"cmd": "echo hi; echo err >&2", "host": srv.addr, "username": "ada"}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	hostMsg := fmt.Sprintf("['%s']", srv.addr)
	tests := []struct {
		name      string
		h         *sdktest.Harness
		input     map[string]any
		result    string // JSON
		errType   string
		errText   string
		retryable bool
	}{
		{name: "password", input: base(map[string]any{"password": "pw"}), result: `"hi\n"`},
		{name: "wrong password", input: base(map[string]any{"password": "nope"}), errType: ErrSSHConnection,
			errText: "Failed to execute ssh cmd 'echo hi; echo err >&2' on " + hostMsg + ": ssh: handshake failed: ssh: unable to authenticate"},
		{name: "key as text", input: base(map[string]any{"private_key": keys.ed25519PEM}), result: `"hi\n"`},
		{name: "key file in the key directory", input: base(map[string]any{"private_key_filename": "deploy"}), result: `"hi\n"`},
		{name: "RSA key file by absolute path", input: base(map[string]any{"private_key_filename": rsaFile}), result: `"hi\n"`},
		{name: "encrypted key, password as its passphrase", input: base(map[string]any{"private_key": keys.encryptedPEM, "password": "open sesame"}), result: `"hi\n"`},
		{name: "encrypted key without a passphrase", input: base(map[string]any{"private_key": keys.encryptedPEM}), errType: sdk.ErrTypeInvalidInput,
			errText: `parameter "private_key": the private key is encrypted`},
		{name: "not a key", input: base(map[string]any{"private_key": "hello"}), errType: sdk.ErrTypeInvalidInput, errText: "not a usable private key"},
		{name: "key file name with ..", input: base(map[string]any{"private_key_filename": "../etc/passwd"}), errType: sdk.ErrTypeInvalidInput,
			errText: "must not contain '..'"},
		{name: "key file that does not exist", input: base(map[string]any{"private_key_filename": "nope"}), errType: sdk.ErrTypeInvalidInput,
			errText: "no such file"},
		{name: "a key the server does not accept", input: base(map[string]any{"private_key": keys.unauthorized}), errType: ErrSSHConnection, errText: "unable to authenticate"},
		{name: "default key of the key directory", h: hDefault, input: base(nil), result: `"hi\n"`},
		{name: "a list of hosts", input: base(map[string]any{"host": []any{srv.addr, other.addr}, "password": "pw", "cmd": "echo $((1+1))"}), result: `["2\n","2\n"]`},
		{name: "a list of one host gives one result, as in Mistral", input: base(map[string]any{"host": []any{srv.addr}, "password": "pw"}), result: `"hi\n"`},
		{name: "non-zero exit", input: base(map[string]any{"password": "pw", "cmd": "exit 3"}), errType: ErrSSHCommand,
			errText: "Failed to execute ssh cmd 'exit 3' on " + hostMsg + ": exit status 3"},
		{name: "the first failing host ends the run", input: base(map[string]any{"host": []any{srv.addr, other.addr}, "private_key": keys.ed25519PEM}), errType: ErrSSHConnection,
			errText: fmt.Sprintf("on ['%s', '%s']: ssh: handshake failed", srv.addr, other.addr)},
		{name: "results on error", input: base(map[string]any{"password": "pw", "cmd": "echo out; echo bad >&2; exit 2", "return_result_on_error": true}),
			result: `{"stdout":"out\n","stderr":"bad\n","exit_code":2}`},
		{name: "connection refused is retryable", input: base(map[string]any{"password": "pw", "host": "127.0.0.1:1"}), errType: ErrSSHConnection,
			errText: "connection refused", retryable: true},
		{name: "a port that is not a number", input: base(map[string]any{"password": "pw", "host": "127.0.0.1:ssh"}), errType: sdk.ErrTypeInvalidInput,
			errText: `port "ssh" is not a port number`},
		{name: "a number as the host", input: base(map[string]any{"password": "pw", "host": 7}), errType: sdk.ErrTypeInvalidInput, errText: `parameter "host"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hh := h
			if tc.h != nil {
				hh = tc.h
			}
			run := hh.Execute(context.Background(), "std.ssh", tc.input)
			if tc.errType != "" {
				require.NotNil(t, run.Error, "output: %s", run.Output)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
				require.Contains(t, run.Error.Message, tc.errText)
				require.Equal(t, tc.retryable, run.Error.Retryable)
				return
			}
			require.Nil(t, run.Error)
			require.JSONEq(t, tc.result, string(run.Output))
		})
	}
}

func TestSSHHostKeys(t *testing.T) {
	srv := newSSHServer(t, sshServerOptions{password: "pw"})
	impostor := newSSHServer(t, sshServerOptions{password: "pw"})
	dir := t.TempDir()
	line := knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey.PublicKey())
	// The impostor answers at the address the file pins to srv's key.
	file := writeFile(t, filepath.Join(dir, "known_hosts"), line+"\n"+
		knownhosts.Line([]string{knownhosts.Normalize(impostor.addr)}, srv.hostKey.PublicKey())+"\n")
	cfg, err := ConfigFromEnv(func(k string) string { return map[string]string{envKnownHosts: file, envKeyDir: dir}[k] })
	require.NoError(t, err)
	h := sdktest.New(t, NewPlugin(cfg))

	run := h.Execute(context.Background(), "std.ssh", map[string]any{"cmd": "echo ok", "host": srv.addr, "username": "ada", "password": "pw"})
	require.Nil(t, run.Error)
	require.JSONEq(t, `"ok\n"`, string(run.Output))

	run = h.Execute(context.Background(), "std.ssh", map[string]any{"cmd": "echo ok", "host": impostor.addr, "username": "ada", "password": "pw"})
	require.NotNil(t, run.Error)
	require.Equal(t, ErrSSHConnection, run.Error.Type)
	require.Contains(t, run.Error.Message, "key mismatch")
	require.False(t, run.Error.Retryable)
}

func TestSSHProxied(t *testing.T) {
	keys := newTestKeys(t)
	target := newSSHServer(t, sshServerOptions{authorized: []ssh.PublicKey{keys.ed25519}})
	gateway := newSSHServer(t, sshServerOptions{authorized: []ssh.PublicKey{keys.ed25519}})
	ncGateway := newSSHServer(t, sshServerOptions{authorized: []ssh.PublicKey{keys.ed25519}, noForward: true})
	cfg := testConfig(t)
	writeFile(t, filepath.Join(cfg.KeyDir, "deploy"), keys.encryptedPEM)
	h := sdktest.New(t, NewPlugin(cfg))
	off := cfg
	off.RunEnabled = false
	hOff := sdktest.New(t, NewPlugin(off))

	self, err := os.Executable()
	require.NoError(t, err)
	base := func(gw *sshServer, extra map[string]any) map[string]any {
		in := map[string]any{"cmd": "echo via $((6*7))", "host": target.addr, "username": "ada",
			"private_key_filename": "deploy", "password": "open sesame", "gateway_host": gw.addr}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	tests := []struct {
		name     string
		h        *sdktest.Harness
		gateway  *sshServer
		input    map[string]any
		errType  string
		errText  string
		gwUser   string
		gwDialed string
	}{
		{name: "forwarded by the gateway", gateway: gateway, input: base(gateway, nil), gwUser: "ada", gwDialed: "forward " + target.addr},
		{name: "nc on a gateway that does not forward", gateway: ncGateway, input: base(ncGateway, map[string]any{"gateway_username": "gw"}),
			gwUser: "gw", gwDialed: "nc " + target.addr},
		{name: "a key as text and no file", gateway: gateway, input: base(gateway, map[string]any{"private_key_filename": nil, "private_key": keys.ed25519PEM, "password": nil}),
			gwUser: "ada", gwDialed: "forward " + target.addr},
		{name: "a proxy command to the gateway", gateway: gateway, input: base(gateway, map[string]any{"proxy_command": fmt.Sprintf("'%s' %s %s", self, netcatFlag, gateway.addr)}),
			gwUser: "ada", gwDialed: "forward " + target.addr},
		{name: "a proxy command where local commands are off", h: hOff, gateway: gateway,
			input:   base(gateway, map[string]any{"proxy_command": fmt.Sprintf("'%s' %s %s", self, netcatFlag, gateway.addr)}),
			errType: ErrNotAllowedType, errText: "std.ssh_proxied proxy_command: running local commands is turned off"},
		{name: "no key", gateway: gateway, input: base(gateway, map[string]any{"private_key_filename": nil}), errType: sdk.ErrTypeInvalidInput,
			errText: "std.ssh_proxied authenticates with a private key"},
		{name: "private_key_filename is required", gateway: gateway, input: func() map[string]any {
			in := base(gateway, nil)
			delete(in, "private_key_filename")
			return in
		}(), errType: sdk.ErrTypeInvalidInput, errText: "missing required parameters: private_key_filename"},
		{name: "a gateway that is down", gateway: gateway, input: base(gateway, map[string]any{"gateway_host": "127.0.0.1:1"}), errType: ErrSSHConnection,
			errText: "gateway 127.0.0.1:1: dial tcp 127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hh := h
			if tc.h != nil {
				hh = tc.h
			}
			usersBefore, dialedBefore := tc.gateway.seen()
			run := hh.Execute(context.Background(), "std.ssh_proxied", tc.input)
			if tc.errType != "" {
				require.NotNil(t, run.Error, "output: %s", run.Output)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
				require.Contains(t, run.Error.Message, tc.errText)
				return
			}
			require.Nil(t, run.Error)
			require.JSONEq(t, `"via 42\n"`, string(run.Output))
			users, dialed := tc.gateway.seen()
			require.Equal(t, []string{tc.gwUser}, users[len(usersBefore):])
			require.Equal(t, []string{tc.gwDialed}, dialed[len(dialedBefore):])
		})
	}
}

func TestSSHCancelAndCap(t *testing.T) {
	srv := newSSHServer(t, sshServerOptions{password: "pw"})
	cfg := testConfig(t)
	cfg.MaxOutputBytes = 4
	h := sdktest.New(t, NewPlugin(cfg))

	var out string
	require.NoError(t, h.Execute(context.Background(), "std.ssh", map[string]any{
		"cmd": "head -c 100000 /dev/zero | tr '\\0' x", "host": srv.addr, "username": "ada", "password": "pw"}).Decode(&out))
	require.Equal(t, "xxxx", out)

	pidFile := filepath.Join(t.TempDir(), "pid")
	done := make(chan sdktest.Run, 1)
	go func() {
		done <- h.ExecuteWith(context.Background(), "std.ssh", map[string]any{
			"cmd": fmt.Sprintf("echo $$ > %s; exec sleep 60", pidFile), "host": srv.addr, "username": "ada", "password": "pw",
		}, sdk.ExecContext{ActionExecutionID: "ssh-cancel", Attempt: 1})
	}()
	pid := readPid(t, pidFile)
	require.True(t, h.Cancel(context.Background(), "ssh-cancel"))
	run := <-done
	require.NotNil(t, run.Error)
	require.Equal(t, sdk.ErrTypeCancelled, run.Error.Type, run.Error.Message)
	// The server ends the command when the connection goes.
	waitGone(t, pid)
}

func TestSSHTurnedOff(t *testing.T) {
	cfg := testConfig(t)
	cfg.SSHEnabled = false
	h := sdktest.New(t, NewPlugin(cfg))
	for action, input := range map[string]map[string]any{
		"std.ssh":         {"cmd": "true", "host": "h", "username": "u"},
		"std.ssh_proxied": {"cmd": "true", "host": "h", "username": "u", "private_key_filename": nil, "gateway_host": "g"},
	} {
		run := h.Execute(context.Background(), action, input)
		require.NotNil(t, run.Error, action)
		require.Equal(t, ErrNotAllowedType, run.Error.Type)
		require.True(t, strings.Contains(run.Error.Message, "SSH is turned off on this executor host (SIROCCO_SHELL_SSH_ENABLED=false)"), run.Error.Message)
	}
}
