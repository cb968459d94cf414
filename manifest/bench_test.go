package manifest

import (
	"fmt"
	"strings"
	"testing"
)

// deployments renders n Deployments of replicas 0 as one multi-document file.
func deployments(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%d
  labels: {app: app-%d}
spec:
  replicas: 0
  selector:
    matchLabels: {app: app-%d}
  template:
    metadata:
      labels: {app: app-%d}
    spec:
      containers:
      - name: main
        image: example.com/app:%d
        command: [sleep, "3600"]
        env:
        - {name: INDEX, value: "%d"}
        ports:
        - {containerPort: 8080}
`, i, i, i, i, i, i)
	}
	return []byte(b.String())
}

// BenchmarkParse decodes, defaults and validates 1000 Deployments.
//
//	go test ./manifest -run '^$' -bench Parse -benchmem
func BenchmarkParse(b *testing.B) {
	data := deployments(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse([]File{{Path: "apps.yaml", Data: data}}); err != nil {
			b.Fatal(err)
		}
	}
}
