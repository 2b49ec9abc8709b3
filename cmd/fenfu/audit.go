package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
)

// cmdAuditVerify walks the audit logs of the stores asked for, and
// checks them against the anchors of a log file if one is given.
func cmdAuditVerify(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	store := fs.String("store", "both", "the store whose audit log to verify: core, credit or both")
	anchorFile := fs.String("anchors", "", "a fenfu log file (serve's standard error) whose audit anchors the logs must agree with")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if *store != "core" && *store != "credit" && *store != "both" {
		return e.usagef("--store must be core, credit or both")
	}
	var anchors []audit.Anchor
	if *anchorFile != "" {
		f, err := os.Open(*anchorFile)
		if err != nil {
			return err
		}
		anchors, err = audit.ReadAnchors(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	reports := []audit.Report{}
	var broken []string
	for _, d := range []*db.DB{a.core, a.credit} {
		if *store != "both" && *store != d.Name {
			continue
		}
		r, err := audit.Verify(ctx, d, anchors, func(checked, head int64) {
			if head > 10_000 {
				fmt.Fprintf(e.stderr, "\r%s: %d of %d entries checked", d.Name, checked, head)
			}
		})
		if r.Head.Seq > 10_000 {
			fmt.Fprintln(e.stderr)
		}
		if err != nil {
			return err
		}
		reports = append(reports, r)
		if !r.OK() {
			broken = append(broken, r.String())
		}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "fenfu: %s\n", r)
		}
	}
	if *asJSON {
		if err := printJSON(e.stdout, map[string]any{"anchors_read": len(anchors), "stores": reports}); err != nil {
			return err
		}
	}
	if len(broken) > 0 {
		return fmt.Errorf("the audit log does not verify: %s", strings.Join(broken, "; "))
	}
	return nil
}

// actorFlag adds --actor to a command that changes rules or keys: who the
// change is recorded under in the audit log.
func actorFlag(fs *flag.FlagSet) *string {
	return fs.String("actor", "", "who makes the change, as recorded in the audit log (default: the operating-system user)")
}

// cliActor is who a change from the command line is recorded under: the
// --actor given, as a staff member, or the operating-system user.
func cliActor(name string) string {
	if name = strings.TrimSpace(name); name != "" {
		return "staff:" + name
	}
	if u, err := user.Current(); err == nil {
		return "os:" + u.Username
	}
	return "os:unknown"
}

// recordCLI records a change made from the command line in the audit log
// of d's store: the command is its detail, beside what the caller adds.
func recordCLI(ctx context.Context, e *env, d *db.DB, actor, action string, target audit.Target, reason string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["command"] = "fenfu " + e.cmd.name
	_, err := audit.Record(ctx, d, audit.Entry{Actor: actor, Action: action, Target: target, Reason: reason, Detail: audit.Detail(detail)})
	if err != nil {
		return fmt.Errorf("the change is made, but the audit log did not record it: %w", err)
	}
	return nil
}
