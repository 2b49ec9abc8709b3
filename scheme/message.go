package scheme

import "strconv"

// Message returns the text a v3 request's signature covers:
// METHOD\nURL\ntimestamp\nnonce\nbody\n. URL is the request target as
// sent, path and query.
func Message(method, uri string, timestamp int64, nonce string, body []byte) []byte {
	b := make([]byte, 0, len(method)+len(uri)+len(nonce)+len(body)+24)
	b = append(b, method...)
	b = append(b, '\n')
	b = append(b, uri...)
	b = append(b, '\n')
	return appendTail(b, timestamp, nonce, body)
}

// ResponseMessage returns the text the signature of a v3 response or
// notification covers: timestamp\nnonce\nbody\n.
func ResponseMessage(timestamp int64, nonce string, body []byte) []byte {
	return appendTail(make([]byte, 0, len(nonce)+len(body)+24), timestamp, nonce, body)
}

// appendTail appends the lines every v3 signed message ends with.
func appendTail(b []byte, timestamp int64, nonce string, body []byte) []byte {
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, '\n')
	b = append(b, nonce...)
	b = append(b, '\n')
	b = append(b, body...)
	return append(b, '\n')
}
