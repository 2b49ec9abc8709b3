package main

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/openapi"
	"github.com/fenfu/fenfu/server"
)

// TestOpenAPI: openapi/fenfu.json documents exactly the routes serve
// registers, each with a method, a summary, an operationId of its own,
// its path parameters, its security and its answers; the staff routes
// name the permission the staff API's table gives them, and the
// WeChat-compatible ones point at WeChat Pay's documentation. A route
// added without documenting it, or a documented route removed, fails it.
func TestOpenAPI(t *testing.T) {
	a := openTest(t, testConfig(t), fenfu.SystemClock{})
	a.observe(metrics.New())
	deps := a.deps(func(func(context.Context)) {})
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title, Version string
		}
		Fallbacks map[string]string                        `json:"x-fallbacks"`
		Paths     map[string]map[string]map[string]any     `json:"paths"`
		Comps     struct{ SecuritySchemes map[string]any } `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document(), &doc); err != nil {
		t.Fatalf("openapi/fenfu.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") || doc.Info.Title == "" || doc.Info.Version == "" {
		t.Fatalf("not an OpenAPI 3.1 document with a title and version: %q %+v", doc.OpenAPI, doc.Info)
	}
	documented, err := openapi.Operations()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, p := range server.Patterns(deps) {
		method, path, ok := strings.Cut(p, " ")
		if !ok { // a method-less pattern: a subtree's fallback
			if doc.Fallbacks[p] == "" {
				t.Errorf("route %q (every method) is not among the document's x-fallbacks", p)
			}
			continue
		}
		if path == "/{$}" {
			path = "/"
		}
		served = append(served, method+" "+path)
	}
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("route %s is served but not documented in openapi/fenfu.json", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(served, p) {
			t.Errorf("openapi/fenfu.json documents %s, which the server does not serve", p)
		}
	}
	if len(served) < 100 {
		t.Fatalf("only %d routes recorded", len(served))
	}

	perms := map[string]string{}
	for _, r := range deps.Admin.Routes() {
		perms[r.Pattern] = string(r.Permission)
	}
	ids := map[string]bool{}
	param := regexp.MustCompile(`\{(\w+)\}`)
	for path, item := range doc.Paths {
		for method, op := range item {
			name := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s: operationId %q missing or not its own", name, id)
			}
			ids[id] = true
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s: no summary", name)
			}
			resp, _ := op["responses"].(map[string]any)
			if resp["200"] == nil || resp["default"] == nil {
				t.Errorf("%s: answers must document 200 and the default error", name)
			}
			sec, ok := op["security"].([]any)
			if !ok {
				t.Errorf("%s: no security (an empty list for public routes)", name)
			}
			for _, s := range sec {
				for scheme := range s.(map[string]any) {
					if doc.Comps.SecuritySchemes[scheme] == nil {
						t.Errorf("%s: security scheme %s is not defined", name, scheme)
					}
				}
			}
			var params []string
			ps, _ := op["parameters"].([]any)
			for _, p := range ps {
				p := p.(map[string]any)
				if p["in"] == "path" && p["required"] == true {
					params = append(params, p["name"].(string))
				}
			}
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !slices.Contains(params, m[1]) {
					t.Errorf("%s: path parameter %s is not declared", name, m[1])
				}
			}
			if want, ok := perms[name]; ok {
				if got, _ := op["x-fenfu-permission"].(string); got != want {
					t.Errorf("%s: x-fenfu-permission %q, but the staff API's table says %q", name, got, want)
				}
			}
			if tags, _ := op["tags"].([]any); slices.ContainsFunc(tags, func(t any) bool { return strings.HasPrefix(t.(string), "WeChat Pay") }) &&
				op["externalDocs"] == nil {
				t.Errorf("%s: a WeChat-compatible route without a pointer to WeChat Pay's documentation", name)
			}
		}
	}
}
