// Package openapi holds the OpenAPI 3.1 document of fenfu's own HTTP
// routes (fenfu.json): the merchant API's /v3/fenfu/… routes, the staff
// API under /admin/ and its console's pages under /console/, the
// consumer's cashier under /q/, /a/ and /cashier/, the merchant portal
// under /portal/, and the public ones; the WeChat-compatible routes are
// listed with a pointer to WeChat Pay's documentation. The server serves
// it at /openapi.json, and a test checks it against the routes the server
// registers.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

//go:embed fenfu.json
var document []byte

// Document returns the document's JSON.
func Document() []byte { return slices.Clone(document) }

// methods are the operations a path item may hold.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Operations returns each operation of the document as a ServeMux pattern
// would name it: "GET /v3/fenfu/settlements".
func Operations() ([]string, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(document, &d); err != nil {
		return nil, fmt.Errorf("openapi: fenfu.json: %w", err)
	}
	var out []string
	for path, item := range d.Paths {
		for m := range item {
			if slices.Contains(methods, m) {
				out = append(out, strings.ToUpper(m)+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
