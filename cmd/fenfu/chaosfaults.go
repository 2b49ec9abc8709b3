package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/chaos"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// The faults of `fenfu chaos` beyond the kill, and what each needs of
// the machine. Each is a chaos.Fault: done in the middle of a cycle's
// load, undone after its outage, and followed by the same checks.

// chaosFaults are the faults' names, and the engine each needs ("" for
// either).
var chaosFaults = []struct{ name, engine string }{
	{"kill", ""},
	{"pg-restart", "postgres"},
	{"credit-partition", "postgres"},
	{"disk-full", "sqlite"},
	{"clock-step", ""},
	{"settle-kill", ""},
}

// faultsFor are the faults a run on engine can do.
func faultsFor(engine string) []string {
	var out []string
	for _, f := range chaosFaults {
		if f.engine == "" || f.engine == engine {
			out = append(out, f.name)
		}
	}
	return out
}

// pgInstance is a PostgreSQL server of the chaos run's own, in a
// temporary directory, so that restarting it disturbs nothing else on the
// machine. Its programs run as the postgres user.
type pgInstance struct {
	bin, dir string
	port     int
}

// startPostgres makes and starts a PostgreSQL cluster in a new temporary
// directory, listening on a free local port with trust authentication.
func startPostgres(ctx context.Context, bin string) (*pgInstance, error) {
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		return nil, fmt.Errorf("pg-restart runs a PostgreSQL of its own and needs its programs: %w (set --pg-bin)", err)
	}
	dir, err := os.MkdirTemp("", "fenfu-chaos-pg-")
	if err != nil {
		return nil, err
	}
	p := &pgInstance{bin: bin, dir: dir}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	if err := exec.CommandContext(ctx, "chown", "postgres:", dir).Run(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("chown %s to postgres: %w (pg-restart needs to run as root)", dir, err)
	}
	if err := p.run(ctx, "initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		p.remove()
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		p.remove()
		return nil, err
	}
	return p, nil
}

func (p *pgInstance) data() string { return filepath.Join(p.dir, "data") }

// DSN is the administrator's DSN of the instance.
func (p *pgInstance) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

func (p *pgInstance) run(ctx context.Context, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, prog)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", prog, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (p *pgInstance) start(ctx context.Context) error {
	return p.run(ctx, "pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-w", "start",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.port, p.dir))
}

// stop stops the server: fast (disconnect the clients, roll back, shut
// down cleanly) or immediate (quit at once and recover at the next start,
// as after a crash).
func (p *pgInstance) stop(ctx context.Context, mode string) error {
	return p.run(ctx, "pg_ctl", "-D", p.data(), "-m", mode, "-w", "stop")
}

func (p *pgInstance) remove() {
	_ = p.stop(context.Background(), "immediate")
	os.RemoveAll(p.dir)
}

// pgRestart restarts the run's own PostgreSQL in the middle of the load,
// fast and immediate in turn.
func pgRestart(pg *pgInstance) chaos.Fault {
	n := 0
	return chaos.Fault{Name: "pg-restart", Outage: 2 * time.Second, Plan: func(*rand.Rand, chaos.Cluster) chaos.Action {
		mode := []string{"fast", "immediate"}[n%2]
		n++
		return chaos.Action{Note: "PostgreSQL stopped -m " + mode + " for 2s",
			Do:   func(ctx context.Context) error { return pg.stop(ctx, mode) },
			Undo: func(ctx context.Context) error { return pg.start(ctx) }}
	}}
}

// proxied is the credit store's DSN through a proxy: the servers reach
// the credit store through it. It returns the DSN and the upstream.
func proxied(dsn string) (through func(addr string) string, upstream string, err error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("credit-partition needs the credit store on PostgreSQL at a host:port, not %q", dsn)
	}
	upstream = u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}
	return func(addr string) string {
		v := *u
		v.Host = addr
		return v.String()
	}, upstream, nil
}

// creditPartition cuts the servers off from the credit store for 3 s:
// every open connection is closed, and new ones refused or, every other
// time, black-holed.
func creditPartition(p *chaos.Proxy) chaos.Fault {
	n := 0
	return chaos.Fault{Name: "credit-partition", Outage: 3 * time.Second, Plan: func(*rand.Rand, chaos.Cluster) chaos.Action {
		blackHole := n%2 == 1
		n++
		note := "credit store cut off for 3s, new connections refused"
		if blackHole {
			note = "credit store cut off for 3s, new connections black-holed"
		}
		return chaos.Action{Note: note,
			Do:   func(context.Context) error { p.Cut(blackHole); return nil },
			Undo: func(context.Context) error { p.Heal(); return nil }}
	}}
}

// mountTmpfs mounts a tmpfs of size MiB on dir.
func mountTmpfs(dir string, sizeMiB int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm,mode=0700", sizeMiB), "tmpfs", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount a tmpfs on %s: %w: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func unmount(dir string) error {
	out, err := exec.Command("umount", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("umount %s: %w: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// fill writes path until the file system is full, and returns how much
// it wrote.
func fill(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for _, size := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, size)
		for {
			w, err := f.Write(buf)
			n += int64(w)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// diskFull fills the file system the SQLite stores are on for 2 s, then
// frees it.
func diskFull(dir string) chaos.Fault {
	filler := filepath.Join(dir, "filler")
	return chaos.Fault{Name: "disk-full", Outage: 2 * time.Second, Plan: func(*rand.Rand, chaos.Cluster) chaos.Action {
		return chaos.Action{Note: "disk filled for 2s",
			Do: func(context.Context) error {
				_, err := fill(filler)
				return err
			},
			Undo: func(context.Context) error { return os.Remove(filler) }}
	}}
}

// clockSteps are the steps of the clock-step fault, in turn: each sets
// the servers' clock off by this much for 3 s and then back. The last is
// beyond the ±5-minute window of a request's signature.
var clockSteps = []time.Duration{90 * time.Second, -90 * time.Second, 4 * time.Minute, -4 * time.Minute, 6 * time.Minute}

// setOffset writes the offset file the servers read their clock's offset
// from; they see it within a second, so it waits that second out.
func setOffset(ctx context.Context, path string, d time.Duration) error {
	if err := os.WriteFile(path, []byte(d.String()), 0o600); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(1100 * time.Millisecond):
	}
	return nil
}

// clockStep steps the servers' wall clock (not the machine's) for 3 s
// and back, by each of clockSteps in turn.
func clockStep(offsetFile string) chaos.Fault {
	n := 0
	return chaos.Fault{Name: "clock-step", Outage: 3 * time.Second, Plan: func(*rand.Rand, chaos.Cluster) chaos.Action {
		step := clockSteps[n%len(clockSteps)]
		n++
		return chaos.Action{Note: fmt.Sprintf("servers' clock stepped %+v for 3s and back", step),
			Do:   func(ctx context.Context) error { return setOffset(ctx, offsetFile, step) },
			Undo: func(ctx context.Context) error { return setOffset(ctx, offsetFile, 0) }}
	}}
}

// settleKill runs a settlement batch (`fenfu settle`, a child process) in
// the middle of the load, kills it with SIGKILL mid-batch — after a
// merchant of the channel the seed picks is settled and before the
// channel is done — and runs it again to completion once the load is
// over. Each such cycle settles the next business day, on a clock moved
// on to the end of it: cycle k settles today + k−1 days. The run then
// holds the stores to it: every payment acknowledged before the batch
// began is settled (by this day or an earlier one), and verify proves the
// settlements.
type settleKill struct {
	cfg   Config
	stats *settleStats
	dir   string
	days  int
	began time.Time // when the last batch began; zero after its check
	err   error     // what its rerun reported
}

// settleStats is what the settlement batches of a run did.
type settleStats struct {
	Batches     int `json:"batches"`      // batches run (each killed, then rerun)
	Killed      int `json:"killed"`       // killed mid-batch
	Finished    int `json:"finished"`     // ended before the kill came
	Resumed     int `json:"resumed"`      // settlements an interrupted run left pending, posted by the rerun
	Settled     int `json:"settled"`      // merchant settlements made, by the killed runs and reruns
	Payments    int `json:"payments"`     // payments settled
	Unsettled   int `json:"unsettled"`    // payments acknowledged before a batch it did not settle
	RerunFailed int `json:"rerun_failed"` // reruns that did not finish
}

var progressLine = regexp.MustCompile(`^settling \S+ (\S+): (\d+)/(\d+) merchants`)

func (s *settleKill) fault() chaos.Fault {
	return chaos.Fault{Name: "settle-kill", Plan: func(rng *rand.Rand, _ chaos.Cluster) chaos.Action {
		channel := pay.Channels[rng.IntN(len(pay.Channels))].Name()
		s.days++
		day := time.Now().In(fenfu.Shanghai).AddDate(0, 0, s.days-1).Format(time.DateOnly)
		offset := time.Duration(s.days) * 24 * time.Hour
		return chaos.Action{Note: fmt.Sprintf("settlement of %s killed in its %s batch", day, channel),
			Do: func(ctx context.Context) error {
				s.began = time.Now()
				return s.kill(ctx, day, offset, channel)
			},
			Undo: func(ctx context.Context) error {
				// The killed run's lease lasts DefaultLease: the rerun comes
				// as if after it, on a clock moved on past it.
				s.err = s.finish(ctx, day, offset+3*time.Minute)
				return nil
			}}
	}}
}

// child starts `fenfu settle` of day on a clock offset by offset.
func (s *settleKill) child(day string, offset time.Duration) (*exec.Cmd, io.ReadCloser, io.ReadCloser, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	file := filepath.Join(s.dir, "settle-clock-offset")
	if err := os.WriteFile(file, []byte(offset.String()), 0o600); err != nil {
		return nil, nil, nil, err
	}
	args := append([]string{"settle", "--date", day, "--json", "--clock-offset-file", file}, s.cfg.storeArgs()...)
	cmd := exec.Command(exe, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdout, stderr, cmd.Start()
}

// kill runs the batch of day and kills it mid-channel.
func (s *settleKill) kill(ctx context.Context, day string, offset time.Duration, channel string) error {
	cmd, stdout, stderr, err := s.child(day, offset)
	if err != nil {
		return err
	}
	s.stats.Batches++
	go io.Copy(io.Discard, stdout)
	sc := bufio.NewScanner(stderr)
	killed := false
	var tail []string
	for sc.Scan() {
		m := progressLine.FindStringSubmatch(sc.Text())
		if m == nil {
			tail = append(tail, sc.Text())
			continue
		}
		done, _ := strconv.Atoi(m[2])
		total, _ := strconv.Atoi(m[3])
		// Mid-batch: a merchant of the channel settled and one left; a
		// channel of one merchant is cut after it, before the next channel.
		if m[1] == channel && (done < total || channel == pay.ChannelCredit.Name()) {
			_ = cmd.Process.Kill()
			killed = true
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	switch {
	case killed:
		s.stats.Killed++
	case err != nil:
		return fmt.Errorf("fenfu settle %s: %w: %s", day, err, strings.Join(tail, "\n"))
	default:
		s.stats.Finished++
	}
	return ctx.Err()
}

// finish runs the batch of day to its end.
func (s *settleKill) finish(ctx context.Context, day string, offset time.Duration) error {
	cmd, stdout, stderr, err := s.child(day, offset)
	if err != nil {
		return err
	}
	var out settleOutput
	dec := json.NewDecoder(stdout)
	errText, _ := io.ReadAll(stderr)
	decErr := dec.Decode(&out)
	if err := cmd.Wait(); err != nil {
		s.stats.RerunFailed++
		return fmt.Errorf("the rerun of the settlement of %s failed: %w: %s", day, err, strings.TrimSpace(string(errText)))
	}
	if decErr != nil {
		s.stats.RerunFailed++
		return fmt.Errorf("the rerun of the settlement of %s: %w", day, decErr)
	}
	for _, r := range out.Results {
		s.stats.Resumed += r.Resumed
		s.stats.Settled += r.Merchants
		s.stats.Payments += r.Payments
	}
	return ctx.Err()
}

// check is the run's AfterCycle: after a settle-kill cycle, every payment
// acknowledged before its batch began is settled.
func (s *settleKill) check(st chaos.Store) func(ctx context.Context, cycle int, all []*chaos.Payment) (chaos.Findings, error) {
	return func(ctx context.Context, cycle int, all []*chaos.Payment) (chaos.Findings, error) {
		if s.began.IsZero() {
			return nil, nil
		}
		began := s.began
		s.began = time.Time{}
		if s.err != nil {
			s.stats.Unsettled++
			return chaos.Findings{{Kind: chaos.Unsettled, What: s.err.Error()}}, nil
		}
		var out chaos.Findings
		for _, p := range all {
			if p.Paid != chaos.Acked || p.AckedAt.IsZero() || !p.AckedAt.Before(began) {
				continue
			}
			o, err := st.QueryByOutTradeNo(ctx, p.MchID, p.OutTradeNo)
			if err != nil {
				return out, fmt.Errorf("chaos: read order %s: %w", p.OutTradeNo, err)
			}
			if o.SettlementID == "" {
				s.stats.Unsettled++
				out = append(out, chaos.Finding{Kind: chaos.Unsettled,
					What: fmt.Sprintf("order %s, paid before the batch began, is not settled after it finished", p.OutTradeNo)})
			}
		}
		return out, nil
	}
}

// integrity runs SQLite's integrity check on a store: "ok", or what it
// found.
func integrity(ctx context.Context, d *db.DB) string {
	lines, err := db.All(ctx, d.R, func(r db.Scanner) (s string, err error) {
		err = r.Scan(&s)
		return s, err
	}, "PRAGMA integrity_check")
	if err != nil {
		return err.Error()
	}
	return strings.Join(lines, "; ")
}
