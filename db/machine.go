package db

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Machine is a state machine whose state is stored in a column: the table
// of allowed transitions, and the one way to perform a transition in SQL.
// The package that owns the table declares its machine; every change of
// state goes through Move, which refuses a transition the table does not
// allow before anything is written, and writes it with WHERE state = from,
// so a row that has moved on meanwhile is left alone.
type Machine[S ~string] struct {
	Table  string
	Column string
	// Allowed lists, for each state, the states it may move to.
	Allowed map[S][]S
}

// Can reports whether the machine allows from → to.
func (m Machine[S]) Can(from, to S) bool { return slices.Contains(m.Allowed[from], to) }

// Move is one transition to perform.
type Move[S ~string] struct {
	From []S // the states the row may be in; the row is changed only in one of them
	To   S
	// Set is extra assignments, ", col = $1, …", numbered from Args.
	Set string
	// Where selects the row, with placeholders numbered from Args.
	Where     string
	Returning string // columns to return, if any
	Args      []any
}

// SQL returns the statement and arguments of a move, or an error naming
// the transition when the machine does not allow it.
func (m Machine[S]) SQL(mv Move[S]) (string, []any, error) {
	if len(mv.From) == 0 {
		return "", nil, fmt.Errorf("db: %s transition to %s names no state to move from", m.Table, mv.To)
	}
	for _, f := range mv.From {
		if !m.Can(f, mv.To) {
			return "", nil, fmt.Errorf("db: %s transition %s → %s is not in the state machine", m.Table, f, mv.To)
		}
	}
	args := append(slices.Clip(mv.Args), any(string(mv.To)))
	var q strings.Builder
	q.WriteString("UPDATE " + m.Table + " SET " + m.Column + " = $" + strconv.Itoa(len(args)) + mv.Set +
		" WHERE " + m.Column + " IN (")
	for i, f := range mv.From {
		args = append(args, string(f))
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("$" + strconv.Itoa(len(args)))
	}
	q.WriteString(") AND (" + mv.Where + ")")
	if mv.Returning != "" {
		q.WriteString(" RETURNING " + mv.Returning)
	}
	return q.String(), args, nil
}
