package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/route"
)

// The merchants' pages: the review queue of applications, an application
// with its checks, history and documents, and the review's decision.

func (c *Console) merchantPages(mux route.Mux) {
	mux.Handle("GET /console/applications", c.page(c.applications))
	mux.Handle("GET /console/applications/{id}", c.page(c.application))
	mux.Handle("GET /console/applications/{id}/documents/{sha256}", c.page(c.document))
	mux.Handle("POST /console/applications/{id}/review", c.action(c.review))
	mux.Handle("POST /console/applications/{id}/unmask", c.action(c.unmaskApplication))
}

// queuePage is the review queue's data.
type queuePage struct {
	State        onboard.State
	States       []onboard.State
	Industries   []string
	Applications []onboard.Listed
	Listing
}

var queueStates = []onboard.State{onboard.InReview, onboard.MoreMaterial, onboard.Approved, onboard.Rejected, onboard.DepositPaid,
	onboard.Active, onboard.Suspended, onboard.Closed, onboard.Checking, onboard.Submitted, onboard.Draft}

// applications is the review queue: ?state= &industry= &from= &to= &q=
// (a merchant's name or mchid), a page at a time; ?format=csv downloads
// every page.
func (c *Console) applications(r *http.Request, v *view) error {
	v.Title, v.Active = "applications", "/console/applications"
	call := admin.Call{Route: "GET /admin/applications", Query: v.filters("state", "industry", "from", "to", "q")}
	if v.Query.Get("format") == "csv" {
		return v.export("applications.csv", []string{"id", "mchid", "merchant", "industry", "state", "submitted_at"}, call,
			func(raw json.RawMessage) ([][]string, string, error) {
				var p struct {
					Applications []onboard.Listed `json:"applications"`
					Next         string           `json:"next"`
				}
				err := json.Unmarshal(raw, &p)
				var rows [][]string
				for _, a := range p.Applications {
					rows = append(rows, []string{a.ID, a.MchID, a.MerchantName, a.Application.Industry, string(a.State), stamp(a.SubmittedAt)})
				}
				return rows, p.Next, err
			})
	}
	var out struct {
		State        onboard.State    `json:"state"`
		Applications []onboard.Listed `json:"applications"`
		Next         string           `json:"next"`
	}
	d := &queuePage{States: queueStates, Industries: industries}
	v.Data = d
	if err := v.do(call, &out); err != nil {
		return err
	}
	d.State, d.Applications, d.Listing = out.State, out.Applications, v.Listing(out.Next)
	return nil
}

// industries are the industry classes the filter offers.
var industries = func() []string {
	var out []string
	for id := range onboard.DefaultPolicy().Industries {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}()

// applicationPage is an application's data.
type applicationPage struct {
	onboard.Record
	// CanReview is whether the application is in review and the member
	// may decide it.
	CanReview bool
	// CanUnmask is whether the member may have a masked field shown.
	CanUnmask bool
	// Masked are the application's masked fields, by JSON path.
	Masked []string
	// Unmasked is a field just shown in the clear, with its value.
	Unmasked, Value string
}

func (c *Console) application(r *http.Request, v *view) error {
	v.Title, v.Active = "application", "/console/applications"
	id := r.PathValue("id")
	d := &applicationPage{}
	v.Data = d
	if err := v.do(admin.Call{Route: "GET /admin/applications/{id}", Path: map[string]string{"id": id}}, &d.Record); err != nil {
		return err
	}
	d.CanReview = d.State == onboard.InReview && v.allows("POST /admin/applications/{id}/review")
	if !v.Member.Clear && v.allows("POST /admin/unmask") {
		d.Masked = maskedFields(d.Application)
		d.CanUnmask = len(d.Masked) > 0
	}
	return nil
}

// maskedFields are the personal fields of an application that are set,
// by the JSON path POST /admin/unmask names them with.
func maskedFields(a onboard.Application) []string {
	var out []string
	if p := a.LegalPerson; p != nil {
		for f, set := range map[string]bool{"name": p.Name != "", "id_number": p.IDNumber != "", "phone": p.Phone != ""} {
			if set {
				out = append(out, "application.legal_person."+f)
			}
		}
	}
	if b := a.SettlementAccount; b != nil {
		if b.AccountName != "" {
			out = append(out, "application.settlement_account.account_name")
		}
		if b.AccountNumber != "" {
			out = append(out, "application.settlement_account.account_number")
		}
	}
	slices.Sort(out)
	return out
}

// review decides an application: approve, reject or ask for more
// material, with the reason the merchant reads.
func (c *Console) review(r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	decision := r.PostForm.Get("decision")
	var rec onboard.Record
	err := v.do(admin.Call{Route: "POST /admin/applications/{id}/review", Path: map[string]string{"id": id},
		Body: map[string]string{"decision": decision, "reason": strings.TrimSpace(r.PostForm.Get("reason"))}}, &rec)
	if err != nil {
		return "", err
	}
	return "/console/applications/" + url.PathEscape(id) + "?done=" + url.QueryEscape("review-"+decision), nil
}

// unmaskApplication shows one masked field of an application in the
// clear, for the reason given, which the unmasking records.
func (c *Console) unmaskApplication(r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	field := r.PostForm.Get("field")
	var out struct {
		Value string `json:"value"`
	}
	if err := v.do(admin.Call{Route: "POST /admin/unmask", Body: map[string]string{"kind": "application", "id": id, "field": field,
		"reason": r.PostForm.Get("reason")}}, &out); err != nil {
		return "", err
	}
	if err := c.application(r, v); err != nil {
		return "", err
	}
	d := v.Data.(*applicationPage)
	d.Unmasked, d.Value = field, out.Value
	return "", nil
}

// document shows an application's uploaded document: an image or PDF
// served from the store through the staff route, never from a public
// address.
func (c *Console) document(r *http.Request, v *view) error {
	var f admin.File
	err := v.do(admin.Call{Route: "GET /admin/applications/{id}/documents/{sha256}",
		Path: map[string]string{"id": r.PathValue("id"), "sha256": r.PathValue("sha256")}}, &f)
	if err != nil {
		v.Title, v.Data = "problem", "/console/applications/"+url.PathEscape(r.PathValue("id"))
		return err
	}
	v.answered = true
	f.ServeHTTP(v.w, r)
	return nil
}
