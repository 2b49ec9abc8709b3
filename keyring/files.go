package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

// The data directory once held the platform keys as files, and still
// receives their public keys, for merchants' SDKs to read.

// files returns the private key, public key and certificate file names of
// a scheme's key in a slot.
func files(n scheme.Name, slot string) (priv, pub, cert string) {
	p := "platform"
	if n == scheme.SM2 {
		p = "platform_sm2"
	}
	if slot != Current {
		p += "_" + slot
	}
	return p + "_private_key.pem", p + "_public_key.pem", p + "_certificate.pem"
}

// readFiles reads the platform keys and the secret a data directory kept
// before they moved into the store: each key with its certificate (so its
// serial survives), and the secret, or nil. A private key file holds the
// PEM sealed under the master key, or, written before keys were sealed,
// plain PEM. It creates nothing.
func readFiles(dir string, sealer *seal.Sealer) ([]stored, []byte, error) {
	var out []stored
	for _, n := range Schemes {
		for _, slot := range []string{Current, Next, Previous} {
			priv, _, certName := files(n, slot)
			raw, err := readPrivate(filepath.Join(dir, priv))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			keyPEM := raw
			if s := strings.TrimSpace(string(raw)); seal.Sealed(s) {
				p, err := sealer.Open(s, "platform key")
				if err != nil {
					return nil, nil, fmt.Errorf("keyring: %s does not open with this master key: %w", priv, err)
				}
				keyPEM = []byte(p)
			}
			key, err := scheme.ParsePrivateKeyPEM(keyPEM)
			if err != nil {
				return nil, nil, fmt.Errorf("keyring: %s: %w", priv, err)
			}
			if got, _ := scheme.Of(key); got != n {
				return nil, nil, fmt.Errorf("keyring: %s holds a %s key, want %s", priv, got, n)
			}
			cert, err := os.ReadFile(filepath.Join(dir, certName))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("keyring: %w", err)
			}
			if cert != nil {
				if _, err := parseCertificate(cert); err != nil {
					return nil, nil, fmt.Errorf("keyring: %s: %w", certName, err)
				}
			}
			s, err := newStored(sealer, n, slot, key, cert)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, s)
		}
	}
	raw, err := readPrivate(filepath.Join(dir, "secret"))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	secret, err := decodeHex(raw)
	if err != nil || len(secret) < 32 {
		return nil, nil, errors.New("keyring: the secret file is damaged")
	}
	return out, secret, nil
}

// writePublic writes the public key file of each key of a set into dir,
// where it differs, and removes those of empty slots.
func writePublic(dir string, set *keySet) error {
	for _, n := range Schemes {
		for _, slot := range []string{Current, Next, Previous} {
			_, pub, _ := files(n, slot)
			path := filepath.Join(dir, pub)
			var pk *PlatformKey
			for i := range set.keys[n] {
				if set.keys[n][i].Slot == slot {
					pk = &set.keys[n][i]
				}
			}
			if pk == nil {
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("keyring: %w", err)
				}
				continue
			}
			want, err := scheme.PublicKeyPEM(scheme.Public(pk.Key))
			if err != nil {
				return err
			}
			if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
				continue
			}
			if err := writeFile(path, want, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// readPrivate reads a file that must be its owner's alone.
func readPrivate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyring: %s is readable by others (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
	}
	return b, nil
}

// loadOrCreate reads a private file, creating it if absent. Creation is
// race-free across processes: the file is written to a temporary name and
// linked into place only if absent.
func loadOrCreate(path string, create func() ([]byte, error)) ([]byte, error) {
	b, err := readPrivate(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	data, err := create()
	if err != nil {
		return nil, fmt.Errorf("keyring: create %s: %w", filepath.Base(path), err)
	}
	if err := writeFile(path, data, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path) // another process won the race
		}
		return nil, err
	}
	return data, nil
}

// writeFile writes a 0600 file through a temporary one: replacing what
// path holds, or only if path is absent (fs.ErrExist otherwise). The
// directory is made (0700) if it does not exist yet, as on a first start
// with a new --data-dir.
func writeFile(path string, data []byte, replace bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("keyring: %w", err)
	}
	return err
}
