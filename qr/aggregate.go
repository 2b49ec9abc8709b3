package qr

import "github.com/fenfu/fenfu"

// CodePayload is what an aggregate code's token vouches for: the code and
// its merchant. It does not expire: the code is printed and stays on a
// till or a table until the merchant revokes it, which the store records.
type CodePayload struct {
	CodeID string
	MchID  string
}

// CodeSigner signs and checks aggregate codes' tokens. Its key is derived
// from the secret under a label of its own, and its payloads carry a kind
// of their own, so an order's token never parses as an aggregate code's
// nor the other way round.
type CodeSigner struct{ key []byte }

// NewCodeSigner returns a CodeSigner for the secret.
func NewCodeSigner(secret []byte) *CodeSigner {
	return &CodeSigner{key: derive(secret, "fenfu aggregate code token v1")}
}

// codeVersion is the kind and version of an aggregate code's payload.
const codeVersion = "a1"

// Token returns the token for p.
func (s *CodeSigner) Token(p CodePayload) string { return sign(s.key, codeVersion, p.CodeID, p.MchID) }

// Parse checks an aggregate code's token and returns its payload. A token
// altered in any part (another code, another merchant), signed with
// another key, or an order's token fails with PARAM_ERROR.
func (s *CodeSigner) Parse(token string) (CodePayload, error) {
	f, ok := open(s.key, token, codeVersion, 3)
	if !ok || f[1] == "" || f[2] == "" {
		e := fenfu.Errorf(fenfu.ParamError, "this code is not a valid payment code of this platform: it was altered or not issued here")
		e.Remedy = "Scan the code the merchant shows at the till or on the table again; if it still fails, ask the merchant to pay another way."
		return CodePayload{}, e
	}
	return CodePayload{CodeID: f[1], MchID: f[2]}, nil
}
