package cashier

// CodeStatusOf is codeStatus, for the tests of every state an order can
// leave a code in, some of which only a till makes.
var CodeStatusOf = codeStatus
