package keyring

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

// Slots of a platform key during rotation.
const (
	Current  = "current"
	Next     = "next"     // published, used for clients that ask for it
	Previous = "previous" // replaced, still used for clients that ask for it
)

func prefix(n scheme.Name) string {
	if n == scheme.SM2 {
		return "platform_sm2"
	}
	return "platform"
}

// files returns the private key, public key and certificate file names of
// a scheme's key in a slot.
func files(n scheme.Name, slot string) (priv, pub, cert string) {
	p := prefix(n)
	if slot != Current {
		p += "_" + slot
	}
	return p + "_private_key.pem", p + "_public_key.pem", p + "_certificate.pem"
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadSlots loads the next and previous keys of a scheme, where present.
func loadSlots(dir string, sealer *seal.Sealer, n scheme.Name) ([]PlatformKey, error) {
	var out []PlatformKey
	for _, slot := range []string{Next, Previous} {
		priv, pub, _ := files(n, slot)
		if !exists(filepath.Join(dir, priv)) {
			continue
		}
		k, err := loadPlatform(dir, sealer, n, priv, pub)
		if err != nil {
			return nil, err
		}
		k.Slot = slot
		out = append(out, k)
	}
	return out, nil
}

// Rotate creates the next platform key of a scheme. From then on
// /v3/certificates lists it and a client that names it in Wechatpay-Serial
// gets responses signed with it, while everyone else still gets the
// current key: merchants move over at their own pace. Servers pick it up
// when they restart.
func Rotate(dir string, n scheme.Name) (PlatformKey, error) {
	priv, pub, _ := files(n, Next)
	if exists(filepath.Join(dir, priv)) {
		return PlatformKey{}, fmt.Errorf("keyring: a next %s platform key already exists; promote it first", n.Algorithm())
	}
	kr, err := Load(dir)
	if err != nil {
		return PlatformKey{}, err
	}
	sealer, err := seal.New(kr.Master)
	if err != nil {
		return PlatformKey{}, err
	}
	k, err := loadPlatform(dir, sealer, n, priv, pub)
	k.Slot = Next
	return k, err
}

// Promote makes the next key current. The key it replaces becomes the
// previous key, still used for clients that name it, until RetirePrevious.
func Promote(dir string, n scheme.Name) error {
	np, _, _ := files(n, Next)
	pp, _, _ := files(n, Previous)
	if !exists(filepath.Join(dir, np)) {
		return fmt.Errorf("keyring: there is no next %s platform key; rotate first", n.Algorithm())
	}
	if exists(filepath.Join(dir, pp)) {
		return fmt.Errorf("keyring: a previous %s platform key is still kept; retire it first", n.Algorithm())
	}
	move := func(from, to string) error {
		a, b, c := files(n, from)
		x, y, z := files(n, to)
		for _, f := range [][2]string{{a, x}, {b, y}, {c, z}} {
			if err := os.Rename(filepath.Join(dir, f[0]), filepath.Join(dir, f[1])); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("keyring: %w", err)
			}
		}
		return nil
	}
	if err := move(Current, Previous); err != nil {
		return err
	}
	return move(Next, Current)
}

// RetirePrevious deletes the previous key of a scheme, ending the overlap.
func RetirePrevious(dir string, n scheme.Name) error {
	a, b, c := files(n, Previous)
	if !exists(filepath.Join(dir, a)) {
		return fmt.Errorf("keyring: there is no previous %s platform key", n.Algorithm())
	}
	for _, f := range []string{a, b, c} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keyring: %w", err)
		}
	}
	return nil
}

// All returns a scheme's platform keys: current, then next and previous.
func (k *Keyring) All(n scheme.Name) []PlatformKey {
	return append([]PlatformKey{k.Platform(n)}, k.others[n]...)
}

// ForSerial returns the key of a scheme that a client asked for by public
// key ID or certificate serial (its Wechatpay-Serial request header), or
// the current key.
func (k *Keyring) ForSerial(n scheme.Name, accept string) PlatformKey {
	if accept != "" {
		for _, pk := range k.All(n) {
			if pk.ID == accept || pk.Certificate.SerialNo == accept {
				return pk
			}
		}
	}
	return k.Platform(n)
}
