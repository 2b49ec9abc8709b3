// Command fenfu runs the fenfu credit-payment platform: the server, its
// migrations, the sandbox tools, the books proof and a demo. Every command
// that opens the stores takes --data-dir, --core-db and --credit-db; see
// `fenfu help`. The table of commands is in cli.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fenfu/fenfu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(exitCode(err))
	}
}

// errUsage marks a usage error, already explained on stderr.
var errUsage = errors.New("usage")

// exitCode is 2 for a command used wrongly, 1 for one that failed.
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// report prints an error with its code and remedy.
func report(w io.Writer, err error) {
	var e *fenfu.Error
	if errors.As(err, &e) {
		fmt.Fprintf(w, "fenfu: %s: %s\n", e.Code, e.Message)
		if e.Remedy != "" {
			fmt.Fprintf(w, "  remedy: %s\n", e.Remedy)
		}
		return
	}
	fmt.Fprintf(w, "fenfu: %v\n", err)
}
