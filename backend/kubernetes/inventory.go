package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var secretGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// maxSyncs is how many syncs the parent Secret remembers.
const maxSyncs = 10

// SyncRecord is one sync of the app, as the parent Secret remembers it.
type SyncRecord struct {
	Commit string    `json:"commit,omitempty"`
	Time   time.Time `json:"time"`
	Result string    `json:"result"` // "ok", or what failed
	By     string    `json:"by,omitempty"`
}

// inventory is what the app's parent Secret holds: the ApplySet's group-kinds and
// namespaces (so that Load knows where to look and a fresh runner what to prune), the
// last syncs, and the last complete ReplicaSet of each Deployment.
type inventory struct {
	exists     bool
	groupKinds []string // Kind.group, sorted
	namespaces []string // the parent's namespace first, then the others, sorted
	syncs      []SyncRecord
	// complete maps namespace/name of a Deployment to the pod-template-hash of its
	// ReplicaSet that was last fully available.
	complete map[string]string
}

// ApplySetID is the ApplySet ID of the app's parent (KEP-3659):
// applyset-base64url(sha256(name.namespace.Secret.))-v1.
func (t *Target) ApplySetID() string {
	sum := sha256.Sum256([]byte(t.ParentName() + "." + t.Namespace + ".Secret."))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

func gkString(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

func parseGK(s string) schema.GroupKind {
	kind, group, _ := strings.Cut(s, ".")
	return schema.GroupKind{Group: group, Kind: kind}
}

// readInventory reads the parent Secret; a missing one is an empty inventory.
func (t *Target) readInventory(ctx context.Context) (inventory, error) {
	inv := inventory{namespaces: []string{t.Namespace}, complete: map[string]string{}}
	u, err := t.dyn.Resource(secretGVR).Namespace(t.Namespace).Get(ctx, t.ParentName(), getOpts)
	if notFound(err) {
		return inv, nil
	}
	if err != nil {
		return inv, t.wrap(err)
	}
	inv.exists = true
	ann := u.GetAnnotations()
	for _, s := range strings.Split(ann[annGroupKinds], ",") {
		if s != "" {
			inv.groupKinds = append(inv.groupKinds, s)
		}
	}
	for _, s := range strings.Split(ann[annAddNamespaces], ",") {
		if s != "" && s != t.Namespace {
			inv.namespaces = append(inv.namespaces, s)
		}
	}
	data, _, _ := unstructured.NestedStringMap(u.Object, "data")
	if b, err := base64.StdEncoding.DecodeString(data["syncs"]); err == nil {
		_ = json.Unmarshal(b, &inv.syncs)
	}
	if b, err := base64.StdEncoding.DecodeString(data["complete"]); err == nil {
		_ = json.Unmarshal(b, &inv.complete)
	}
	return inv, nil
}

// covers reports whether the inventory already names a group-kind and namespace.
func (inv *inventory) covers(gk, ns string) bool {
	return slices.Contains(inv.groupKinds, gk) && (ns == "" || slices.Contains(inv.namespaces, ns))
}

// add widens the inventory by a group-kind and namespace.
func (inv *inventory) add(gk, ns string) {
	if !slices.Contains(inv.groupKinds, gk) {
		inv.groupKinds = append(inv.groupKinds, gk)
		sort.Strings(inv.groupKinds)
	}
	if ns != "" && !slices.Contains(inv.namespaces, ns) {
		inv.namespaces = append(inv.namespaces, ns)
		sort.Strings(inv.namespaces[1:])
	}
}

// writeInventory writes the parent Secret with server-side apply.
func (t *Target) writeInventory(ctx context.Context, inv *inventory) error {
	syncs, _ := json.Marshal(inv.syncs)
	complete, _ := json.Marshal(inv.complete)
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata": map[string]any{
			"name":      t.ParentName(),
			"namespace": t.Namespace,
			"labels": map[string]any{
				LabelApplySetID:       t.ApplySetID(),
				"kgit.dev/managed-by": "kgit",
				"kgit.dev/app":        appLabel(t.App),
			},
			"annotations": map[string]any{
				annTooling:       "kgit/v1",
				annGroupKinds:    strings.Join(inv.groupKinds, ","),
				annAddNamespaces: strings.Join(inv.namespaces[1:], ","),
			},
		},
		"type": "kgit.dev/applyset",
		"data": map[string]any{
			"syncs":    base64.StdEncoding.EncodeToString(syncs),
			"complete": base64.StdEncoding.EncodeToString(complete),
		},
	}}
	body, err := json.Marshal(u)
	if err != nil {
		return err
	}
	force := true
	_, err = t.dyn.Resource(secretGVR).Namespace(t.Namespace).Patch(ctx, t.ParentName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	if err != nil {
		return t.wrap(err)
	}
	inv.exists = true
	return nil
}

// Syncs returns the app's last syncs, newest last, from its parent Secret.
func (t *Target) Syncs(ctx context.Context) ([]SyncRecord, error) {
	inv, err := t.readInventory(ctx)
	return inv.syncs, err
}
