package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/sirocco-wf/sirocco/sdk"
)

// Error types of the SSH actions.
const (
	// ErrSSHConnection is an SSH server that could not be reached or that
	// refused the credentials or whose host key did not match.
	ErrSSHConnection = "SSHConnectionFailed"
	// ErrSSHCommand is a remote command that exited with a status other
	// than 0.
	ErrSSHCommand = "SSHCommandFailed"
)

// sshPort is the port of a host given without one.
const sshPort = "22"

// SSHInput are std.ssh's parameters, as Mistral's, plus
// return_result_on_error from later Mistral releases.
type SSHInput struct {
	Cmd string `json:"cmd" description:"The command line, run by the remote user's shell."`
	// Host is a string or a list of strings.
	Host                any     `json:"host" description:"A host, or a list of hosts the command runs on one after the other; each is name, name:port or [address]:port (port 22 by default)."`
	Username            string  `json:"username" description:"The remote user."`
	Password            string  `json:"password,omitempty" default:"\"\"" description:"The user's password (password and keyboard-interactive authentication), and the passphrase of an encrypted private key."`
	PrivateKeyFilename  *string `json:"private_key_filename,omitempty" description:"A private key file on the executor host: an absolute path, or a name in the plugin's key directory (~/.ssh by default). Must not contain '..'."`
	PrivateKey          *string `json:"private_key,omitempty" description:"A private key (RSA, ECDSA or Ed25519; PEM or OpenSSH format), as text."`
	ReturnResultOnError bool    `json:"return_result_on_error,omitempty" default:"false" description:"Return {stdout, stderr, exit_code} for each host, whatever the exit status, instead of stdout and an error on a status other than 0."`
}

// SSHProxiedInput are std.ssh_proxied's parameters, as Mistral's.
type SSHProxiedInput struct {
	Cmd      string `json:"cmd" description:"The command line, run by the remote user's shell."`
	Host     any    `json:"host" description:"A host, or a list of hosts, as the gateway reaches them; each is name, name:port or [address]:port (port 22 by default)."`
	Username string `json:"username" description:"The remote user."`
	// PrivateKeyFilename is required, as in Mistral, but may be null when
	// private_key is given; the schema leaves its type open so that null
	// passes.
	PrivateKeyFilename any     `json:"private_key_filename" required:"true" description:"A private key file on the executor host (see std.ssh), or null when private_key is given."`
	GatewayHost        string  `json:"gateway_host" description:"The SSH gateway: name, name:port or [address]:port."`
	GatewayUsername    *string `json:"gateway_username,omitempty" description:"The user on the gateway; by default username."`
	Password           *string `json:"password,omitempty" description:"The passphrase of an encrypted private key (std.ssh_proxied authenticates with the key only, as Mistral's does)."`
	ProxyCommand       *string `json:"proxy_command,omitempty" description:"A local command whose standard input and output are the connection to the gateway (like ssh's ProxyCommand; split into words as a shell would, not run by a shell). It obeys shell.run's settings."`
	PrivateKey         *string `json:"private_key,omitempty" description:"A private key as text (see std.ssh)."`
}

func (s *shell) ssh(ctx sdk.Context, in SSHInput) (any, error) {
	if err := s.sshAllowed("std.ssh"); err != nil {
		return nil, err
	}
	hosts, err := hostList(in.Host)
	if err != nil {
		return nil, inputError("std.ssh", "host", err.Error())
	}
	keys, err := s.loadKeys("std.ssh", in.PrivateKeyFilename, in.PrivateKey, in.Password)
	if err != nil {
		return nil, err
	}
	auth := keys.methods(in.Password)
	c := s.newConnector(ctx)
	return s.runOnHosts(ctx, in.Cmd, in.Host, hosts, in.ReturnResultOnError, func(addr string) (*ssh.Client, func(), error) {
		conn, err := c.dial(ctx, addr)
		if err != nil {
			return nil, nil, err
		}
		client, err := c.handshake(ctx, conn, addr, in.Username, auth)
		if err != nil {
			return nil, nil, err
		}
		return client, func() { client.Close() }, nil
	})
}

func (s *shell) sshProxied(ctx sdk.Context, in SSHProxiedInput) (any, error) {
	if err := s.sshAllowed("std.ssh_proxied"); err != nil {
		return nil, err
	}
	hosts, err := hostList(in.Host)
	if err != nil {
		return nil, inputError("std.ssh_proxied", "host", err.Error())
	}
	gwAddr, err := hostAddr(in.GatewayHost)
	if err != nil {
		return nil, inputError("std.ssh_proxied", "gateway_host", err.Error())
	}
	var keyFile *string
	switch f := in.PrivateKeyFilename.(type) {
	case nil:
	case string:
		keyFile = &f
	default:
		return nil, inputError("std.ssh_proxied", "private_key_filename", "want a file name or null, got "+jsonKind(f))
	}
	passphrase := deref(in.Password)
	keys, err := s.loadKeys("std.ssh_proxied", keyFile, in.PrivateKey, passphrase)
	if err != nil {
		return nil, err
	}
	if len(keys.signers) == 0 {
		return nil, inputError("std.ssh_proxied", "private_key_filename",
			"std.ssh_proxied authenticates with a private key: give private_key_filename or private_key")
	}
	auth := keys.methods("")
	gwUser := deref(in.GatewayUsername)
	if gwUser == "" {
		gwUser = in.Username
	}
	c := s.newConnector(ctx)
	return s.runOnHosts(ctx, in.Cmd, in.Host, hosts, false, func(addr string) (*ssh.Client, func(), error) {
		// One gateway connection per host, as in Mistral.
		var gwConn net.Conn
		var err error
		if in.ProxyCommand != nil && *in.ProxyCommand != "" {
			gwConn, err = s.proxyCommandConn(ctx, *in.ProxyCommand)
		} else {
			gwConn, err = c.dial(ctx, gwAddr)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("gateway %s: %w", gwAddr, err)
		}
		gw, err := c.handshake(ctx, gwConn, gwAddr, gwUser, auth)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway %s: %w", gwAddr, err)
		}
		conn, err := throughGateway(gw, addr)
		if err != nil {
			gw.Close()
			return nil, nil, fmt.Errorf("gateway %s to %s: %w", gwAddr, addr, err)
		}
		client, err := c.handshake(ctx, conn, addr, in.Username, auth)
		if err != nil {
			gw.Close()
			return nil, nil, err
		}
		return client, func() {
			client.Close()
			gw.Close()
		}, nil
	})
}

func (s *shell) sshAllowed(action string) error {
	if !s.cfg.SSHEnabled {
		return sdk.NewError(ErrNotAllowedType, fmt.Sprintf("%s: SSH is turned off on this executor host (%s=false)", action, envSSHEnabled), nil)
	}
	return nil
}

// runOnHosts runs cmd on each host in turn and returns what Mistral
// returns: the stdout of a single host, or the list of them; the first
// failure ends the run.
func (s *shell) runOnHosts(ctx sdk.Context, cmd string, hostInput any, hosts []string, resultOnError bool,
	connect func(addr string) (*ssh.Client, func(), error)) (any, error) {
	var results []any
	for _, addr := range hosts {
		ctx.Logger().Info("running SSH command", "host", addr)
		client, closeAll, err := connect(addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("SSH to %s: %w", addr, ctx.Err())
			}
			var typed *sdk.Error
			if errors.As(err, &typed) {
				return nil, typed // bad input or a refusal, already explained
			}
			return nil, &sdk.Error{
				Type:      ErrSSHConnection,
				Message:   fmt.Sprintf("%s: %v", failedMessage(cmd, hostInput), err),
				Retryable: isNetError(err),
				Err:       err,
			}
		}
		res, err := s.remoteRun(ctx, client, cmd)
		closeAll()
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("SSH command on %s: %w", addr, ctx.Err())
		case err != nil:
			return nil, &sdk.Error{Type: ErrSSHConnection, Message: fmt.Sprintf("%s: %v", failedMessage(cmd, hostInput), err), Retryable: true, Err: err}
		case resultOnError:
			results = append(results, res)
		case res.ExitCode != 0:
			ctx.Logger().Info("SSH command failed", "host", addr, "exit_code", res.ExitCode, "stderr", res.Stderr)
			return nil, sdk.NewError(ErrSSHCommand, fmt.Sprintf("%s: exit status %d", failedMessage(cmd, hostInput), res.ExitCode), nil)
		default:
			results = append(results, res.Stdout)
		}
	}
	if len(results) == 1 {
		return results[0], nil
	}
	return results, nil
}

// failedMessage is Mistral's message for a failed std.ssh, whose host
// Mistral has turned into a Python list by then.
func failedMessage(cmd string, host any) string {
	var hosts []string
	switch h := host.(type) {
	case string:
		hosts = []string{h}
	case []any:
		for _, x := range h {
			hosts = append(hosts, fmt.Sprint(x))
		}
	}
	quoted := make([]string, len(hosts))
	for i, h := range hosts {
		quoted[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(h) + "'"
	}
	return fmt.Sprintf("Failed to execute ssh cmd '%s' on [%s]", cmd, strings.Join(quoted, ", "))
}

// remoteRun runs cmd in a session of client. Cancelling ctx closes the
// connection, which ends the session.
func (s *shell) remoteRun(ctx context.Context, client *ssh.Client, cmd string) (RunResult, error) {
	sess, err := client.NewSession()
	if err != nil {
		return RunResult{}, fmt.Errorf("open a session: %w", err)
	}
	defer sess.Close()
	stdout, stderr := newCapped(s.cfg.MaxOutputBytes), newCapped(s.cfg.MaxOutputBytes)
	sess.Stdout, sess.Stderr = stdout, stderr
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	err = sess.Run(cmd)
	res := RunResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
	case errors.As(err, &missing):
		res.ExitCode = -1
	default:
		return res, err
	}
	return res, nil
}

// hostList reads host: one host or a list of them.
func hostList(host any) ([]string, error) {
	var names []string
	switch h := host.(type) {
	case string:
		names = []string{h}
	case []any:
		if len(h) == 0 {
			return nil, errors.New("empty list of hosts")
		}
		for i, x := range h {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("item %d is not a string", i)
			}
			names = append(names, s)
		}
	default:
		return nil, fmt.Errorf("want a host or a list of hosts, got %s", jsonKind(host))
	}
	addrs := make([]string, len(names))
	for i, n := range names {
		a, err := hostAddr(n)
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	return addrs, nil
}

// hostAddr turns name, name:port, address or [address]:port into
// host:port.
func hostAddr(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", errors.New("empty host")
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("host %q: port %q is not a port number", h, port)
		}
		return net.JoinHostPort(host, port), nil
	}
	// A bare IPv6 address has colons but no port.
	return net.JoinHostPort(strings.Trim(h, "[]"), sshPort), nil
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
