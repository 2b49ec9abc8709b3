// Command prepay creates a Native order with the official WeChat Pay Go
// SDK, as a merchant's own code would, and prints its code_url:
//
//	CODE_URL=$(go run ./examples/sdkwalk/prepay merchant.json)
//
// merchant.json is what `fenfu sandbox merchant` printed; --fenfu names
// the server (default http://127.0.0.1:8080).
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/fenfu/fenfu/examples/sdkwalk"
)

func main() {
	server := flag.String("fenfu", "http://127.0.0.1:8080", "the fenfu server")
	outTradeNo := flag.String("out-trade-no", "A"+rand.Text()[:16], "the merchant's order number (default random)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: prepay [--fenfu URL] [--out-trade-no N] merchant.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var m sdkwalk.Merchant
	if err := json.Unmarshal(b, &m); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
	codeURL, err := sdkwalk.Prepay(context.Background(), *server, m, *outTradeNo)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(codeURL)
}
