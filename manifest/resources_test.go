package manifest

import "testing"

// TestParseQuantity: quantities as Kubernetes reads them, rounded up as Value and
// MilliValue round.
func TestParseQuantity(t *testing.T) {
	for _, tc := range []struct {
		in    string
		milli bool
		want  int64
	}{
		{"100m", true, 100}, {"0.1", true, 100}, {"1", true, 1000}, {"1.5", true, 1500}, {"2", false, 2},
		{"64Mi", false, 64 << 20}, {"1Gi", false, 1 << 30}, {"1G", false, 1e9}, {"128974848", false, 128974848},
		{"129e6", false, 129e6}, {"1.5Ki", false, 1536}, {"0.5", false, 1}, {"1u", true, 1}, {"250m", false, 1},
	} {
		got, err := parseQuantity(tc.in, tc.milli)
		if err != nil || got != tc.want {
			t.Errorf("parseQuantity(%q, %v) = %d, %v; want %d", tc.in, tc.milli, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "1..2", "5 megs", "1Qi", "."} {
		if _, err := parseQuantity(bad, false); err == nil {
			t.Errorf("parseQuantity(%q) parsed", bad)
		}
	}
}
