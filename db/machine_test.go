package db_test

import (
	"context"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

type light string

var lights = db.Machine[light]{Table: "lights", Column: "state", Allowed: map[light][]light{
	"RED": {"GREEN"}, "GREEN": {"AMBER"}, "AMBER": {"RED"},
}}

// TestMachineMovesOnlyAllowedTransitionsFromTheStoredState: a transition
// the table does not allow is refused before anything is written, and an
// allowed one changes only a row still in the state it moves from.
func TestMachineMovesOnlyAllowedTransitionsFromTheStoredState(t *testing.T) {
	if _, _, err := lights.SQL(db.Move[light]{From: []light{"RED"}, To: "AMBER", Where: "id = $1", Args: []any{1}}); err == nil {
		t.Fatal("RED → AMBER is not in the machine, yet it built a statement")
	}
	if _, _, err := lights.SQL(db.Move[light]{To: "GREEN", Where: "id = $1", Args: []any{1}}); err == nil {
		t.Fatal("a move from no state built a statement")
	}
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, "core", dbtest.DSN(t, engine, "core"), fenfu.SystemClock{}, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.Exec(ctx, `CREATE TABLE lights (id INTEGER PRIMARY KEY, state TEXT NOT NULL, changes INTEGER NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO lights (id, state, changes) VALUES (1, 'RED', 0)`); err != nil {
				t.Fatal(err)
			}
			move := func(from []light, to light) int64 {
				q, args, err := lights.SQL(db.Move[light]{From: from, To: to, Set: ", changes = changes + $1",
					Where: "id = $2", Args: []any{1, 1}})
				if err != nil {
					t.Fatal(err)
				}
				res, err := d.Exec(ctx, q, args...)
				if err != nil {
					t.Fatal(err)
				}
				n, _ := res.RowsAffected()
				return n
			}
			if n := move([]light{"RED"}, "GREEN"); n != 1 {
				t.Fatalf("RED → GREEN changed %d rows", n)
			}
			if n := move([]light{"RED"}, "GREEN"); n != 0 {
				t.Fatalf("a second RED → GREEN, from a row now GREEN, changed %d rows", n)
			}
			// GREEN → AMBER is allowed but RED → AMBER is not: refused whole.
			if _, _, err := lights.SQL(db.Move[light]{From: []light{"RED", "GREEN"}, To: "AMBER", Where: "id = 1"}); err == nil {
				t.Fatal("a move from RED or GREEN to AMBER built a statement")
			}
			var state string
			var changes int
			if err := d.QueryRowContext(ctx, `SELECT state, changes FROM lights WHERE id = 1`).Scan(&state, &changes); err != nil {
				t.Fatal(err)
			}
			if state != "GREEN" || changes != 1 {
				t.Fatalf("the light is %s after %d changes, want GREEN after 1", state, changes)
			}
		})
	}
}
