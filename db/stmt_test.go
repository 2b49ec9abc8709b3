package db_test

import (
	"slices"
	"testing"

	"github.com/fenfu/fenfu/db"
)

// TestPadded: an IN list is lengthened to a power of two by repeating its
// last value, so lists of 5 to 8 values share one statement.
func TestPadded(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "b", "c"}, []string{"a", "b", "c", "c"}},
		{[]string{"a", "b", "c", "d", "e"}, []string{"a", "b", "c", "d", "e", "e", "e", "e"}},
	} {
		if got := db.Padded(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Padded(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
