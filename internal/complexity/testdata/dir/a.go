package dir

func one() {}

// two has complexity 3.

func two(a, b bool) {
	if a && b {
	}
}
