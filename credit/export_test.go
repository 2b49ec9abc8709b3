package credit

// HistorySQL is historySQL, for the tests of its plan.
var HistorySQL = historySQL
