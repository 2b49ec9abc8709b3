package chaos

import (
	"io"
	"net"
	"sync"
)

// Proxy is a TCP proxy that can cut a store off: the servers reach the
// credit store through it, and Cut makes the store unreachable — every
// open connection is closed, and new ones are refused (accepted and
// closed at once) or black-holed (accepted and never answered) — until
// Heal lets traffic through again.
type Proxy struct {
	upstream string
	ln       net.Listener

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]struct{} // both ends of every open connection
	held  []net.Conn            // black-holed while cut
	wg    sync.WaitGroup
}

type proxyMode int

const (
	passing proxyMode = iota
	refusing
	blackHoling
)

// NewProxy listens on a local port and forwards to upstream, a host:port.
func NewProxy(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{upstream: upstream, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and, until Heal, refuses new ones, or
// with blackHole accepts them and never answers.
func (p *Proxy) Cut(blackHole bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = refusing
	if blackHole {
		p.mode = blackHoling
	}
	for c := range p.conns {
		c.Close()
	}
}

// Heal lets connections through again; the ones black-holed while cut are
// closed, as a router's timeout would.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = passing
	for _, c := range p.held {
		c.Close()
	}
	p.held = nil
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut(false)
	p.Heal()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode == blackHoling {
			p.held = append(p.held, c)
		}
		p.mu.Unlock()
		switch mode {
		case refusing:
			c.Close()
		case passing:
			p.wg.Add(1)
			go p.forward(c)
		}
	}
}

// forward pipes c to a new connection to the upstream until either side
// closes or the proxy cuts them.
func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.mode != passing { // cut while dialling
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}
