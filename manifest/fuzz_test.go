package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to decoding, defaulting and validation: they must
// never panic, and whatever they accept must be valid and serialisable. The seed corpus
// is testdata/bad plus the example app.
//
//	go test ./manifest -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/bad/*.yaml")
	seeds = append(seeds, "../examples/hello/hello.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse([]File{{Path: "fuzz.yaml", Data: data}})
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("Parse returned %T, want an ErrorList: %v", err, err)
			}
			return
		}
		for _, o := range objs {
			if errs := Validate(o); len(errs) > 0 {
				t.Fatalf("accepted an object that does not validate: %v", errs)
			}
			if _, err := json.Marshal(o.Obj); err != nil {
				t.Fatalf("accepted an object that does not marshal: %v", err)
			}
			_ = Unhonoured(o, "process", []string{"nodeSelector", "containers[].resources"})
		}
	})
}
