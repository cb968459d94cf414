package process

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestScratchJSONCost(t *testing.T) {
	data, err := os.ReadFile(os.Getenv("PODJSON"))
	if err != nil {
		t.Skip()
	}
	t0 := time.Now()
	var pf podFile
	if err := json.Unmarshal(data, &pf); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	var pf2 podFile
	json.Unmarshal(data, &pf2)
	t2 := time.Now()
	st := statusFile{}
	st.Phase = "Running"
	b, _ := json.Marshal(st)
	t3 := time.Now()
	json.Marshal(st)
	t4 := time.Now()
	t.Logf("unmarshal pod.json first %v again %v; marshal status first %v again %v (%d bytes)", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), len(b))
}
