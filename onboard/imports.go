package onboard

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/seal"
)

// ListBureau is the built-in CreditBureau: it answers from the risk list
// imported with Service.ImportRiskList, looking the licence up by its
// blind index. Sealer is the Service's.
type ListBureau struct {
	DB     *db.DB
	Sealer *seal.Sealer
}

// Listed reports whether the risk list names the licence, and why.
func (b ListBureau) Listed(ctx context.Context, licence string) (bool, string, error) {
	var reason, source string
	err := b.DB.QueryRowContext(ctx, `SELECT reason, source FROM risk_list WHERE licence_index = $1`,
		licenceIndex(b.Sealer, strings.TrimSpace(licence))).Scan(&reason, &source)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return true, reason + " (list " + source + ")", nil
}

// ImportResult counts what an import did, and names the first bad line.
type ImportResult struct {
	Rows    int      `json:"rows"`
	Skipped int      `json:"skipped"`
	Errors  []string `json:"errors,omitempty"`
}

const maxImportErrors = 20

// readCSV reads a CSV with the given header, calling row for each record
// (line numbers from 2). Bad rows are counted and reported, not fatal.
func readCSV(r io.Reader, header []string, row func(line int, rec []string) error) (ImportResult, error) {
	var res ImportResult
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(header)
	cr.TrimLeadingSpace = true
	first, err := cr.Read()
	if err != nil {
		return res, fenfu.Errorf(fenfu.ParamError, "the file is not CSV with the header %s: %v", strings.Join(header, ","), err)
	}
	for i, h := range header {
		if strings.TrimSpace(strings.TrimPrefix(first[i], "\ufeff")) != h {
			return res, fenfu.Errorf(fenfu.ParamError, "the header must be %s", strings.Join(header, ","))
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err == nil {
			err = row(line, rec)
		}
		if err != nil {
			res.Skipped++
			if len(res.Errors) < maxImportErrors {
				res.Errors = append(res.Errors, fmt.Sprintf("line %d: %v", line, err))
			}
			continue
		}
		res.Rows++
	}
}

// ImportRiskList loads the payment-industry risk list from CSV with the
// header licence_number,name,reason; source names the list. Rows already
// present are updated. Licence numbers and names are stored sealed, found
// by the licence's blind index.
func (s *Service) ImportRiskList(ctx context.Context, r io.Reader, source string) (ImportResult, error) {
	return readCSV(r, []string{"licence_number", "name", "reason"}, func(_ int, rec []string) error {
		licence := strings.TrimSpace(rec[0])
		if licence == "" {
			return errors.New("licence_number is empty")
		}
		idx, sl, sn, err := sealRisk(s.Sealer, licence, rec[1])
		if err != nil {
			return err
		}
		return s.DB.Update(ctx, func(tx *db.Tx) error {
			// A row of the same licence stored in clear before the
			// backfill sealed it gives way to the sealed one.
			if _, err := tx.ExecContext(ctx, `DELETE FROM risk_list WHERE licence_number = $1 AND licence_index IS NULL`, licence); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO risk_list (licence_number, licence_index, name, reason, source, imported_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (licence_index) DO UPDATE SET name = EXCLUDED.name, reason = EXCLUDED.reason, source = EXCLUDED.source,
				imported_at = EXCLUDED.imported_at`, sl, idx, sn, rec[2], source, db.Micros(tx.Now))
			return err
		})
	})
}

var monthRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// ImportHistory loads merchants' earlier successful ordinary payments per
// month from CSV with the header mchid,month,ordinary_count (month as
// 2026-08). A month imported again is replaced.
func ImportHistory(ctx context.Context, d *db.DB, r io.Reader, source string) (ImportResult, error) {
	return readCSV(r, []string{"mchid", "month", "ordinary_count"}, func(_ int, rec []string) error {
		mchid, month := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		n, err := strconv.Atoi(strings.TrimSpace(rec[2]))
		switch {
		case mchid == "":
			return errors.New("mchid is empty")
		case !monthRE.MatchString(month):
			return fmt.Errorf("month %q is not YYYY-MM", month)
		case err != nil || n < 0:
			return fmt.Errorf("ordinary_count %q is not a count", rec[2])
		}
		_, err = d.Exec(ctx, `INSERT INTO merchant_history (mchid, month, ordinary_count, source, imported_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (mchid, month) DO UPDATE SET ordinary_count = EXCLUDED.ordinary_count, source = EXCLUDED.source,
			imported_at = EXCLUDED.imported_at`, mchid, month, n, source, db.Micros(d.Clock.Now()))
		return err
	})
}
