package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"
)

// MasterSource is where a node finds a master key, as the settings name
// it. The first source set wins: Hex (FENFU_MASTER_KEY), then Command
// (--master-key-command), then File (--master-key-file). The key is held
// in memory only; it is never written anywhere but the File it came from,
// nor logged.
type MasterSource struct {
	// Hex is the key itself, 32 hex digits.
	Hex string
	// Command is run by /bin/sh; its standard output is the key in hex (a
	// KMS or vault client that fetches or unwraps it).
	Command string
	// File holds the key in hex, mode 0600.
	File string
	// Create makes File with a new key if it is absent (the current
	// master's default file, on a node's first start).
	Create bool
}

// MasterCommandTimeout bounds a --master-key-command.
const MasterCommandTimeout = 30 * time.Second

// Set reports whether any source is given.
func (s MasterSource) Set() bool { return s.Hex != "" || s.Command != "" || s.File != "" }

// Where names the source that wins, for messages: never the key.
func (s MasterSource) Where() string {
	switch {
	case s.Hex != "":
		return "the environment"
	case s.Command != "":
		return "the command " + s.Command
	default:
		return s.File
	}
}

// Load returns the key of the source that wins.
func (s MasterSource) Load(ctx context.Context) ([]byte, error) {
	var raw []byte
	switch {
	case s.Hex != "":
		raw = []byte(s.Hex)
	case s.Command != "":
		ctx, cancel := context.WithTimeout(ctx, MasterCommandTimeout)
		defer cancel()
		var out, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", s.Command)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("keyring: the master key command %q failed: %v: %s", s.Command, err, firstLine(stderr.String()))
		}
		raw = out.Bytes()
	case s.File != "":
		var err error
		if s.Create {
			raw, err = loadOrCreate(s.File, func() ([]byte, error) {
				b := make([]byte, 16)
				_, err := rand.Read(b)
				return []byte(hex.EncodeToString(b)), err
			})
		} else {
			raw, err = readPrivate(s.File)
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("keyring: the master key file %s does not exist", s.File)
			}
		}
		if err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("keyring: no master key source")
	}
	key, err := decodeHex(raw)
	if err != nil || len(key) != 16 {
		return nil, fmt.Errorf("keyring: the master key from %s is not 32 hex digits (an SM4 key of 16 bytes)", s.Where())
	}
	return key, nil
}

func decodeHex(raw []byte) ([]byte, error) { return hex.DecodeString(strings.TrimSpace(string(raw))) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
