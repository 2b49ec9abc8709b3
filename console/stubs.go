package console

import "github.com/fenfu/fenfu/route"

func (c *Console) consumerPages(mux route.Mux)    {}
func (c *Console) financePages(mux route.Mux)     {}
func (c *Console) engineeringPages(mux route.Mux) {}
