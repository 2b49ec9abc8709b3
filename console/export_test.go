package console

// Words are the console's words, for the tests.
var Words = words

// Sitemap is the navigation's items, page and title, for the tests.
func Sitemap() [][2]string {
	var out [][2]string
	for _, s := range sitemap {
		out = append(out, [2]string{"", s.Title})
		for _, it := range s.Items {
			out = append(out, [2]string{it.Path, it.Title})
		}
	}
	return out
}

// SafeNext is where a login sends the browser on to, for the tests.
var SafeNext = safeNext
