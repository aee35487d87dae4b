package pluginhost

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sirocco-wf/sirocco/pluginapi"
	pluginv1 "github.com/sirocco-wf/sirocco/pluginapi/v1"
)

// CatalogFile is the name of a plugin directory's catalog. A directory that
// has one runs only the binaries it lists, each only while its sha256 still
// matches; see Host for directories without one.
const CatalogFile = "sirocco-catalog.json"

// catalogFormat is the version of the catalog file's layout.
const catalogFormat = 1

// Catalog is the content of a plugin directory's catalog file: what
// `sirocco plugin install` recorded about each binary it copied in. The host
// trusts a binary only as far as its entry: the sha256 is checked at every
// launch (go-plugin SecureConfig), so a binary changed behind the catalog's
// back is refused.
type Catalog struct {
	Format  int            `json:"format"`
	Plugins []CatalogEntry `json:"plugins"`
}

// CatalogEntry is one installed plugin binary.
type CatalogEntry struct {
	// Name is the plugin's name as it reported it in GetInfo.
	Name string `json:"name"`
	// File is the binary's file name inside the directory
	// (sirocco-plugin-<name>).
	File       string `json:"file"`
	Version    string `json:"version"`
	SDKVersion string `json:"sdk_version,omitempty"`
	// Protocol is the negotiated protocol as "major.minor".
	Protocol    string    `json:"protocol"`
	SHA256      string    `json:"sha256"`
	Actions     []string  `json:"actions"`
	InstalledAt time.Time `json:"installed_at"`
}

// Entry finds the entry of the plugin called name.
func (c *Catalog) Entry(name string) (CatalogEntry, bool) {
	for _, e := range c.Plugins {
		if e.Name == name {
			return e, true
		}
	}
	return CatalogEntry{}, false
}

// ReadCatalog reads dir's catalog. A directory without a catalog file gives
// (nil, nil): it is a development directory, not an error.
func ReadCatalog(dir string) (*Catalog, error) {
	path := filepath.Join(dir, CatalogFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read plugin catalog: %w", err)
	}
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("plugin catalog %s is not valid JSON: %w", path, err)
	}
	if c.Format != catalogFormat {
		return nil, fmt.Errorf("plugin catalog %s: format %d is not supported (this sirocco reads format %d)", path, c.Format, catalogFormat)
	}
	for i, e := range c.Plugins {
		if e.Name == "" || e.File == "" || filepath.Base(e.File) != e.File || len(e.SHA256) != 64 {
			return nil, fmt.Errorf("plugin catalog %s: entry #%d (%q) needs a name, a plain file name and a 64-digit sha256", path, i, e.Name)
		}
	}
	return &c, nil
}

// writeCatalog replaces dir's catalog atomically: a host reading it at the
// same time sees the old or the new catalog, never half of one.
func writeCatalog(dir string, c *Catalog) error {
	c.Format = catalogFormat
	slices.SortFunc(c.Plugins, func(a, b CatalogEntry) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".catalog-*")
	if err != nil {
		return fmt.Errorf("write plugin catalog: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write plugin catalog: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write plugin catalog: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plugin catalog: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write plugin catalog: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, CatalogFile)); err != nil {
		return fmt.Errorf("write plugin catalog: %w", err)
	}
	return nil
}

// lockDir serialises catalog changes between concurrent `sirocco plugin`
// commands on one directory.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".sirocco-catalog.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock plugin dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock plugin dir: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Install copies the plugin binary at src into dir (created when missing),
// launches the copy once to learn its name, version, protocol and actions,
// and records them with its sha256 in dir's catalog. Installing a plugin
// whose name is already there upgrades it: the new binary replaces the old
// file by rename (a running process keeps its old file) and the entry is
// replaced; hosts watching dir pick the change up without a restart.
func Install(ctx context.Context, src, dir string) (CatalogEntry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return CatalogEntry{}, fmt.Errorf("plugin dir: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return CatalogEntry{}, err
	}
	defer unlock()

	in, err := os.Open(src)
	if err != nil {
		return CatalogEntry{}, fmt.Errorf("plugin binary: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".install-*")
	if err != nil {
		return CatalogEntry{}, fmt.Errorf("copy plugin binary: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // a no-op once renamed
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return CatalogEntry{}, fmt.Errorf("copy plugin binary %s: %w", src, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return CatalogEntry{}, fmt.Errorf("copy plugin binary %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return CatalogEntry{}, fmt.Errorf("copy plugin binary %s: %w", src, err)
	}
	if err := os.Chmod(tmpName, 0o755); err != nil {
		return CatalogEntry{}, fmt.Errorf("copy plugin binary %s: %w", src, err)
	}
	sum, err := fileSHA256(tmpName)
	if err != nil {
		return CatalogEntry{}, err
	}
	info, err := Inspect(ctx, tmpName, sum)
	if err != nil {
		return CatalogEntry{}, fmt.Errorf("%s is not a working Sirocco plugin: %w", src, err)
	}
	if !validName(info.Name) {
		return CatalogEntry{}, fmt.Errorf("%s: plugin name %q may only hold letters, digits, '-' and '_'", src, info.Name)
	}
	entry := CatalogEntry{
		Name:        info.Name,
		File:        BinaryPrefix + info.Name,
		Version:     info.Version,
		SDKVersion:  info.SDKVersion,
		Protocol:    info.Protocol,
		SHA256:      info.SHA256,
		InstalledAt: time.Now().UTC().Truncate(time.Second),
	}
	for _, a := range info.Actions {
		entry.Actions = append(entry.Actions, a.Name)
	}
	cat, err := ReadCatalog(dir)
	if err != nil {
		return CatalogEntry{}, err
	}
	if cat == nil {
		cat = &Catalog{}
	}
	if err := os.Rename(tmpName, filepath.Join(dir, entry.File)); err != nil {
		return CatalogEntry{}, fmt.Errorf("install plugin binary: %w", err)
	}
	cat.Plugins = slices.DeleteFunc(cat.Plugins, func(e CatalogEntry) bool { return e.Name == entry.Name })
	cat.Plugins = append(cat.Plugins, entry)
	if err := writeCatalog(dir, cat); err != nil {
		return CatalogEntry{}, err
	}
	return entry, nil
}

// Remove deletes the plugin called name from dir: its catalog entry first
// (hosts stop using it), then its binary.
func Remove(dir, name string) (CatalogEntry, error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return CatalogEntry{}, err
	}
	defer unlock()
	cat, err := ReadCatalog(dir)
	if err != nil {
		return CatalogEntry{}, err
	}
	if cat == nil {
		return CatalogEntry{}, fmt.Errorf("%s has no plugin catalog (%s); nothing is installed there", dir, CatalogFile)
	}
	entry, ok := cat.Entry(name)
	if !ok {
		return CatalogEntry{}, fmt.Errorf("no plugin %q is installed in %s", name, dir)
	}
	cat.Plugins = slices.DeleteFunc(cat.Plugins, func(e CatalogEntry) bool { return e.Name == name })
	if err := writeCatalog(dir, cat); err != nil {
		return CatalogEntry{}, err
	}
	if err := os.Remove(filepath.Join(dir, entry.File)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return entry, fmt.Errorf("plugin %q left the catalog but its binary stays: %w", name, err)
	}
	return entry, nil
}

// Problem is one finding of Verify.
type Problem struct {
	// Name is the plugin's catalog name, empty for a binary not in the
	// catalog.
	Name string
	Path string
	// Fatal problems make a binary unusable (changed or missing); the
	// others are worth a look (a binary the catalog does not list).
	Fatal   bool
	Message string
}

// Verify hashes every binary dir's catalog lists and reports each one that
// is missing or whose sha256 no longer matches, and each plugin binary in
// dir that the catalog does not list.
func Verify(dir string) ([]Problem, error) {
	cat, err := ReadCatalog(dir)
	if err != nil {
		return nil, err
	}
	if cat == nil {
		return nil, fmt.Errorf("%s has no plugin catalog (%s); install plugins with `sirocco plugin install`", dir, CatalogFile)
	}
	var out []Problem
	listed := map[string]bool{}
	for _, e := range cat.Plugins {
		path := filepath.Join(dir, e.File)
		listed[e.File] = true
		sum, err := fileSHA256(path)
		switch {
		case err != nil:
			out = append(out, Problem{Name: e.Name, Path: path, Fatal: true, Message: fmt.Sprintf("cannot be read: %v", err)})
		case hex.EncodeToString(sum) != e.SHA256:
			out = append(out, Problem{Name: e.Name, Path: path, Fatal: true,
				Message: fmt.Sprintf("sha256 is %x, the catalog says %s: the binary changed since it was installed", sum, e.SHA256)})
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read plugin dir: %w", err)
	}
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), BinaryPrefix) && !de.IsDir() && !listed[de.Name()] {
			out = append(out, Problem{Path: filepath.Join(dir, de.Name()),
				Message: "is not in the catalog, so hosts do not run it; install it with `sirocco plugin install`"})
		}
	}
	return out, nil
}

// Inspect launches the binary at path once, pinned to sum, and returns what
// it reports about itself. The process is stopped before Inspect returns.
func Inspect(ctx context.Context, path string, sum []byte) (PluginInfo, error) {
	p := &proc{path: path, sum: sum, plugLog: pluginLogger{nullLogger}}
	client, rpc, err := p.launch()
	if err != nil {
		return PluginInfo{}, err
	}
	defer killBounded(client)
	return describe(ctx, rpc, path, sum, client.NegotiatedVersion())
}

// describe asks a launched plugin for its info and actions.
func describe(ctx context.Context, rpc pluginv1.PluginClient, path string, sum []byte, major int) (PluginInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	info, err := rpc.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return PluginInfo{}, fmt.Errorf("GetInfo: %w", err)
	}
	desc, err := rpc.DescribeActions(ctx, &pluginv1.DescribeActionsRequest{})
	if err != nil {
		return PluginInfo{}, fmt.Errorf("DescribeActions: %w", err)
	}
	if info.GetName() == "" {
		return PluginInfo{}, errors.New("plugin reported no name")
	}
	if major == 0 {
		major = pluginapi.ProtocolMajor
	}
	out := PluginInfo{
		Name:       info.GetName(),
		Version:    info.GetVersion(),
		SDKVersion: info.GetSdkVersion(),
		Protocol:   fmt.Sprintf("%d.%d", major, info.GetProtocolMinor()),
		Path:       path,
		SHA256:     hex.EncodeToString(sum),
	}
	for _, a := range desc.GetActions() {
		out.Actions = append(out.Actions, ActionInfo{
			Name:           a.GetName(),
			Description:    a.GetDescription(),
			InputSchema:    json.RawMessage(a.GetInputSchema()),
			OutputSchema:   json.RawMessage(a.GetOutputSchema()),
			Async:          a.GetAsync(),
			Cancellable:    a.GetCancellable(),
			Idempotent:     a.GetIdempotent(),
			DefaultTimeout: a.GetDefaultTimeout().AsDuration(),
		})
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
