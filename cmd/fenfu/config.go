package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is what every command needs to reach the stores.
type Config struct {
	DataDir     string
	CoreDB      string
	CreditDB    string
	Synchronous string
}

// DefaultConfig returns the defaults, overridden by FENFU_* variables.
func DefaultConfig(getenv func(string) string) Config {
	c := Config{DataDir: "./fenfu-data", Synchronous: "NORMAL"}
	if v := getenv("FENFU_DATA_DIR"); v != "" {
		c.DataDir = v
	}
	c.CoreDB = getenv("FENFU_CORE_DB")
	c.CreditDB = getenv("FENFU_CREDIT_DB")
	if v := getenv("FENFU_SQLITE_SYNCHRONOUS"); v != "" {
		c.Synchronous = v
	}
	return c
}

// Validate fills derived defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if c.CoreDB == "" {
		c.CoreDB = filepath.Join(c.DataDir, "core.db")
	}
	if c.CreditDB == "" {
		c.CreditDB = filepath.Join(c.DataDir, "credit.db")
	}
	if c.CoreDB == c.CreditDB {
		return fmt.Errorf("--core-db and --credit-db must be different databases: the credit store is isolated from the core store")
	}
	s := strings.ToUpper(c.Synchronous)
	if s != "NORMAL" && s != "FULL" {
		return fmt.Errorf("--sqlite-synchronous must be NORMAL or FULL")
	}
	return nil
}

// flags returns the command's flag set with the store flags bound to c.
func (c *Config) flags(e *env) *flag.FlagSet {
	fs := e.flagSet()
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for keys and SQLite files")
	fs.StringVar(&c.CoreDB, "core-db", c.CoreDB, "core store DSN: SQLite path or postgres://…")
	fs.StringVar(&c.CreditDB, "credit-db", c.CreditDB, "credit store DSN: SQLite path or postgres://…")
	fs.StringVar(&c.Synchronous, "sqlite-synchronous", c.Synchronous, "SQLite durability: NORMAL or FULL")
	return fs
}

// parse parses args into fs and validates c. The command takes the
// positional arguments named, and no others.
func (c *Config) parse(e *env, fs *flag.FlagSet, args []string, positional ...string) error {
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs, positional...); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	return nil
}

// temporaryStore points c at a temporary store, for commands that make
// their own data (demo, bench): each of --data-dir, --core-db and
// --credit-db given on the command line names the store to use instead,
// and the environment is not consulted, so a FENFU_DATA_DIR set for serve
// is never filled with generated data. remove deletes the temporary
// directory; keep leaves it.
func (c *Config) temporaryStore(fs *flag.FlagSet, prefix string) (remove func(), err error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["core-db"] {
		c.CoreDB = ""
	}
	if !set["credit-db"] {
		c.CreditDB = ""
	}
	if set["data-dir"] {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	c.DataDir = dir
	return func() { os.RemoveAll(dir) }, nil
}
