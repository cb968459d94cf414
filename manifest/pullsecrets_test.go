package manifest

import (
	"encoding/json"
	"testing"
)

// TestPullSecrets: a pod's imagePullSecrets resolve to their Secrets' .dockerconfigjson,
// in order; a missing one is left out, as the kubelet leaves it.
func TestPullSecrets(t *testing.T) {
	cs := NewConfigSources([]any{
		&Secret{ObjectMeta: ObjectMeta{Name: "reg", Namespace: "default"}, StringData: map[string]string{".dockerconfigjson": `{"auths":{}}`}},
	})
	spec := &PodSpec{ImagePullSecrets: json.RawMessage(`[{"name":"missing"},{"name":"reg"}]`)}
	pv, err := cs.ForPod("default", spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.PullSecrets) != 1 || pv.PullSecrets[0] != `{"auths":{}}` {
		t.Errorf("pull secrets %q", pv.PullSecrets)
	}
	if Uses(spec) {
		t.Error("pull secrets alone must not stamp a config digest (it would roll pods)")
	}
}
