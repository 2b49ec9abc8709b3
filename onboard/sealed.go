package onboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/seal"
)

// personal is what an application says about people and money: stored
// only inside one sealed envelope, never in the clear JSON.
type personal struct {
	LicenceNumber     string       `json:"licence_number,omitempty"`
	LegalPerson       *Person      `json:"legal_person,omitempty"`
	SettlementAccount *BankAccount `json:"settlement_account,omitempty"`
}

// stored is an application as kept in the database: the personal fields
// only in the sealed envelope. SealedAccount is the envelope of the bank
// account alone that applications stored before the other fields were
// sealed carry, until the backfill re-seals them.
type stored struct {
	Application
	Sealed        string `json:"sealed,omitempty"`
	SealedAccount string `json:"settlement_account_sealed,omitempty"`
}

func personalContext(id string) string { return "applications.personal:" + id }
func accountContext(id string) string  { return "applications.settlement_account:" + id }

// sealedMark is how a stored application whose personal fields are sealed
// begins its envelope; the backfill looks for rows without it.
const sealedMark = `"sealed":"sm4env`

// encode prepares an application for storage, sealing its personal
// fields.
func (s *Service) encode(id string, a Application) (string, error) {
	st := stored{Application: a}
	p := personal{LicenceNumber: a.LicenceNumber, LegalPerson: a.LegalPerson, SettlementAccount: a.SettlementAccount}
	if s.Sealer == nil {
		if a.SettlementAccount != nil {
			return "", fenfu.Errorf(fenfu.SystemError, "bank accounts cannot be stored: no sealer is configured")
		}
	} else {
		b, err := json.Marshal(p)
		if err != nil {
			return "", err
		}
		if st.Sealed, err = s.Sealer.Seal(string(b), personalContext(id)); err != nil {
			return "", err
		}
		st.LicenceNumber, st.LegalPerson, st.SettlementAccount = "", nil, nil
	}
	b, err := json.Marshal(st)
	return string(b), err
}

// decode reads a stored application; the bank account comes back whole
// only when full is set, otherwise masked.
func (s *Service) decode(id, data string, full bool) (Application, error) {
	var st stored
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return Application{}, err
	}
	a := st.Application
	if (st.Sealed != "" || st.SealedAccount != "") && s.Sealer == nil {
		return a, fmt.Errorf("application %s is sealed and no sealer is configured", id)
	}
	if st.Sealed != "" {
		pt, err := s.Sealer.Open(st.Sealed, personalContext(id))
		if err != nil {
			return a, fmt.Errorf("application %s: %w (is this node's master.key the one the store was written with?)", id, err)
		}
		var p personal
		if err := json.Unmarshal([]byte(pt), &p); err != nil {
			return a, err
		}
		a.LicenceNumber, a.LegalPerson, a.SettlementAccount = p.LicenceNumber, p.LegalPerson, p.SettlementAccount
	}
	if st.SealedAccount != "" {
		pt, err := s.Sealer.Open(st.SealedAccount, accountContext(id))
		if err != nil {
			return a, err
		}
		var acct BankAccount
		if err := json.Unmarshal([]byte(pt), &acct); err != nil {
			return a, err
		}
		a.SettlementAccount = &acct
	}
	if a.SettlementAccount != nil && !full {
		m := a.SettlementAccount.Masked()
		a.SettlementAccount = &m
	}
	return a, nil
}

// riskContext is the context a risk-list row's column is sealed in: the
// row is known by its licence's blind index.
func riskContext(column, index string) string { return "risk_list." + column + ":" + index }

// Columns are onboarding's sealed columns: the applications' personal
// fields and bank accounts (envelopes inside their JSON documents), their
// uploaded documents, and the risk list's licence numbers and names.
func Columns() []seal.Column {
	out := []seal.Column{{Table: "applications", Key: "id", Value: "data",
		Fields: map[string]func(string) string{"sealed": personalContext, "settlement_account_sealed": accountContext}},
		{Table: "application_documents", Key: "id", Value: "data", Context: documentContext}}
	for _, col := range []string{"licence_number", "name"} {
		out = append(out, seal.Column{Table: "risk_list", Key: "licence_index", Value: col,
			Context: func(index string) string { return riskContext(col, index) }})
	}
	return out
}

// riskKind names the risk list's licence numbers to the blind index.
const riskKind = "risk_list.licence_number"

// licenceIndex is the blind index the risk list is looked up by. Without
// a sealer (tests of other packages) a licence is its own index.
func licenceIndex(sealer *seal.Sealer, licence string) string {
	if sealer == nil {
		return licence
	}
	return sealer.Index(riskKind, licence)
}

// sealRisk seals a risk-list row's licence number and name, each bound
// to the row's identity, the licence's blind index, which it returns too.
func sealRisk(sealer *seal.Sealer, licence, name string) (index, sealedLicence, sealedName string, err error) {
	index = licenceIndex(sealer, licence)
	if sealer == nil {
		return index, licence, name, nil
	}
	sl, err1 := sealer.Seal(licence, riskContext("licence_number", index))
	sn, err2 := sealer.Seal(name, riskContext("name", index))
	return index, sl, sn, errors.Join(err1, err2)
}

// Backfill seals what was stored in clear before personal data was
// sealed (migration 0018): applications' licence numbers and bank
// accounts, and the risk list's licence numbers and names, which it also
// indexes. It reports how many rows it sealed. Every command runs it at
// start. It works 500 rows at a time and changes a row only if it is still
// as it read it, so it resumes where a stopped run left off and two nodes
// running it at once seal each row once.
func (s *Service) Backfill(ctx context.Context) (int, error) {
	if s.Sealer == nil {
		return 0, nil
	}
	n := 0
	for last := ""; ; {
		rows, err := s.DB.QueryContext(ctx, `SELECT id, data FROM applications WHERE data NOT LIKE $1 AND id > $2 ORDER BY id LIMIT 500`,
			"%"+sealedMark+"%", last)
		if err != nil {
			return n, fmt.Errorf("onboard: backfill: %w", err)
		}
		var ids, datas []string
		for rows.Next() {
			var id, data string
			if err := rows.Scan(&id, &data); err != nil {
				rows.Close()
				return n, fmt.Errorf("onboard: backfill: %w", err)
			}
			ids, datas = append(ids, id), append(datas, data)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("onboard: backfill: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		for i, id := range ids {
			a, err := s.decode(id, datas[i], true)
			if err != nil {
				return n, fmt.Errorf("onboard: backfill %s: %w", id, err)
			}
			data, err := s.encode(id, a)
			if err != nil {
				return n, fmt.Errorf("onboard: backfill %s: %w", id, err)
			}
			res, err := s.DB.Exec(ctx, `UPDATE applications SET data = $1 WHERE id = $2 AND data = $3`, data, id, datas[i])
			if err != nil {
				return n, fmt.Errorf("onboard: backfill %s: %w", id, err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				n++
			}
		}
		last = ids[len(ids)-1]
	}
	for {
		rows, err := s.DB.QueryContext(ctx, `SELECT licence_number, name FROM risk_list WHERE licence_index IS NULL ORDER BY licence_number LIMIT 500`)
		if err != nil {
			return n, fmt.Errorf("onboard: backfill: %w", err)
		}
		var licences, names []string
		for rows.Next() {
			var l, name string
			if err := rows.Scan(&l, &name); err != nil {
				rows.Close()
				return n, fmt.Errorf("onboard: backfill: %w", err)
			}
			licences, names = append(licences, l), append(names, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("onboard: backfill: %w", err)
		}
		if len(licences) == 0 {
			return n, nil
		}
		for i, l := range licences {
			idx, sl, sn, err := sealRisk(s.Sealer, l, names[i])
			if err != nil {
				return n, fmt.Errorf("onboard: backfill: %w", err)
			}
			res, err := s.DB.Exec(ctx, `UPDATE risk_list SET licence_number = $1, name = $2, licence_index = $3
				WHERE licence_number = $4 AND licence_index IS NULL`, sl, sn, idx, l)
			if err != nil {
				return n, fmt.Errorf("onboard: backfill: %w", err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				n++
			}
		}
	}
}
