package main

import (
	"flag"
	"fmt"
	"io"
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

// flags returns a FlagSet with the common flags bound to c.
func (c *Config) flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("fenfu "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for keys and SQLite files")
	fs.StringVar(&c.CoreDB, "core-db", c.CoreDB, "core store DSN: SQLite path or postgres://…")
	fs.StringVar(&c.CreditDB, "credit-db", c.CreditDB, "credit store DSN: SQLite path or postgres://…")
	fs.StringVar(&c.Synchronous, "sqlite-synchronous", c.Synchronous, "SQLite durability: NORMAL or FULL")
	return fs
}

// parse parses args into fs and validates c.
func (c *Config) parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "fenfu: %v\n", err)
		return errUsage
	}
	return nil
}
