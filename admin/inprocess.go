package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
)

// Other surfaces for staff (the ops console) serve the staff routes
// in-process, through Do: the member is named by the same token, the
// route needs the same permission from the same policy, the same handler
// decides, the answer is masked alike and the request is recorded in the
// audit log as the same route. A surface decides how a page looks, never
// whether its member may act or see.

// File is an answer that is a file, not JSON: an application's document,
// a bill. Its route's permission is what guards it; the HTTP route serves
// it as it is, and Do hands it over.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// ServeHTTP writes the file as a download that is never run: no
// sniffing, nothing it may load or script, shown in the browser only if
// it is an image or a PDF.
func (f File) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	disp := "attachment"
	if strings.HasPrefix(f.ContentType, "image/") || f.ContentType == "application/pdf" {
		disp = "inline"
	}
	if f.Name != "" {
		disp = mime.FormatMediaType(disp, map[string]string{"filename": f.Name})
	}
	h.Set("Content-Disposition", disp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	_, _ = w.Write(f.Data)
}

// Member is the staff member a token names, with the policy as read for
// their request and whether it shows them personal data in the clear.
type Member struct {
	access.Staff
	Policy access.Policy
	Clear  bool
}

// Allows reports whether the policy lets the member do what perm allows;
// "" is allowed to every member.
func (m Member) Allows(perm access.Permission) bool {
	return perm == "" || m.Policy.Allows(m.Staff, perm)
}

// Forbidden is the refusal of perm to the member: FORBIDDEN, naming who
// holds it.
func (m Member) Forbidden(perm access.Permission) error { return m.Policy.Forbidden(m.Staff, perm) }

// Member names the member of a session or API token, with the policy;
// any token that names no one is UNAUTHENTICATED. It reads nothing else,
// so it is not recorded: a surface asks it what to offer its member.
func (a *API) Member(ctx context.Context, token string) (Member, error) {
	if a.Access == nil {
		e := fenfu.Errorf(fenfu.Unauthenticated, "this server has no staff accounts configured")
		e.Remedy = "Serve with a core store; create the first director with `fenfu staff bootstrap`."
		return Member{}, e
	}
	who, err := a.Access.Authenticate(ctx, token)
	if err != nil {
		return Member{}, err
	}
	pol, err := a.Access.Policy(ctx)
	if err != nil {
		return Member{}, err
	}
	return Member{Staff: who, Policy: pol, Clear: pol.Allows(who, access.PersonalData)}, nil
}

// Permission is the permission a route of Routes needs; ok is false for a
// route this server does not serve.
func (a *API) Permission(route string) (perm access.Permission, ok bool) {
	r, ok := a.Routes().Find(route)
	return r.Permission, ok
}

// Call is one staff route called in-process.
type Call struct {
	// Route is the route's pattern as Routes lists it, such as
	// "POST /admin/applications/{id}/review".
	Route string
	// Path holds the route's path values by name.
	Path  map[string]string
	Query url.Values
	// Body is sent as the JSON body; nil sends none.
	Body any
}

// Do serves c to the member of token as the HTTP route serves it, on
// behalf of r (its context and address): the route's permission checked
// against the policy, its handler, the masking of personal data, and the
// request recorded in the audit log under the member. The answer is
// decoded into out, a pointer to what the route's JSON answers, or to a
// File for a route that answers one; out may be nil.
func (a *API) Do(r *http.Request, token string, c Call, out any) error {
	rt, ok := a.Routes().Find(c.Route)
	if !ok {
		return fenfu.Internal("admin.Do", fmt.Errorf("no staff route %q", c.Route))
	}
	ir, err := c.request(r)
	if err != nil {
		return fenfu.Internal("admin.Do", err)
	}
	answer, cl, err := a.serveStaff(ir, token, rt)
	if aerr := a.record(ir, cl, err); aerr != nil {
		a.Log.Error("admin request not recorded in the audit log", "path", ir.URL.Path, "error", aerr)
		if ir.Method == http.MethodGet && err == nil {
			return aerr // a read no one can trace is not answered
		}
	}
	if err != nil || out == nil {
		return err
	}
	if f, ok := answer.(File); ok {
		p, ok := out.(*File)
		if !ok {
			return fenfu.Internal("admin.Do", fmt.Errorf("%s answers a file, decoded into %T", c.Route, out))
		}
		*p = f
		return nil
	}
	raw, err := json.Marshal(answer)
	if err != nil {
		return fenfu.Internal("admin.Do", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fenfu.Internal("admin.Do", fmt.Errorf("%s: %w", c.Route, err))
	}
	return nil
}

// request is the HTTP request the route would have received: its method
// and path with the path values, the query, the JSON body, and r's
// context and address. It carries no header: the token is passed apart.
func (c Call) request(r *http.Request) (*http.Request, error) {
	method, path, ok := strings.Cut(c.Route, " ")
	if !ok {
		return nil, fmt.Errorf("route %q has no method", c.Route)
	}
	var b strings.Builder
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			v, ok := c.Path[name]
			if !ok || v == "" {
				return nil, fmt.Errorf("route %q needs the path value %s", c.Route, name)
			}
			seg = url.PathEscape(v)
		}
		b.WriteString(seg)
	}
	var body []byte
	if c.Body != nil {
		var err error
		if body, err = json.Marshal(c.Body); err != nil {
			return nil, err
		}
	}
	ir, err := http.NewRequestWithContext(r.Context(), method, b.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ir.URL.RawQuery = c.Query.Encode()
	ir.RemoteAddr, ir.Host, ir.Pattern = r.RemoteAddr, r.Host, c.Route
	for k, v := range c.Path {
		ir.SetPathValue(k, v)
	}
	return ir, nil
}
