package cli

import (
	"bytes"
	"testing"

	"kgit.dev/kgit/backend"
)

// TestPrintTop pins kubectl top pod's table: millicores and MiB (rounded down), pods in
// namespace and name order, a pod's use the sum of its containers', --containers,
// -A, --sort-by and --no-headers.
func TestPrintTop(t *testing.T) {
	rows := func() []podUsage {
		return []podUsage{
			{namespace: "default", name: "web-2", containers: []backend.Usage{{Container: "main", CPUMilli: 3, MemoryBytes: 5 << 20}, {Container: "side", CPUMilli: 250, MemoryBytes: 1<<20 - 1}}},
			{namespace: "default", name: "api-1", containers: []backend.Usage{{Container: "main", CPUMilli: 0, MemoryBytes: 120 << 20}}},
		}
	}
	for _, tc := range []struct {
		f    topFlags
		want string
	}{
		{topFlags{}, "" +
			"NAME    CPU(cores)   MEMORY(bytes)   \n" +
			"api-1   0m           120Mi           \n" +
			"web-2   253m         5Mi             \n"},
		{topFlags{containers: true, allNamespaces: true}, "" +
			"NAMESPACE   POD     NAME   CPU(cores)   MEMORY(bytes)   \n" +
			"default     api-1   main   0m           120Mi           \n" +
			"default     web-2   main   3m           5Mi             \n" +
			"default     web-2   side   250m         0Mi             \n"},
		{topFlags{sortBy: "cpu", noHeader: true}, "" +
			"web-2   253m   5Mi     \n" +
			"api-1   0m     120Mi   \n"},
	} {
		var out bytes.Buffer
		printTop(&out, rows(), &tc.f)
		if out.String() != tc.want {
			t.Errorf("%+v:\n%s\nwant:\n%s", tc.f, out.String(), tc.want)
		}
	}
}
