package dir

func skipped(a, b, c bool) bool { return a && b && c }
