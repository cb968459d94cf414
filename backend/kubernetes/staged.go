package kubernetes

import (
	"slices"

	"kgit.dev/kgit/manifest"
)

// stage is an object's apply stage, as fluxcd/pkg/ssa's ApplyAllStaged orders them:
// what others live in or are defined by first (Namespaces, CustomResourceDefinitions),
// then cluster-wide RBAC and classes, then the rest.
func stage(kind string) int {
	switch kind {
	case "Namespace", "CustomResourceDefinition":
		return 0
	case "ClusterRole", "ClusterRoleBinding", "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass":
		return 1
	case "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Secret", "PersistentVolumeClaim":
		return 2
	}
	return 3
}

// Staged returns the objects in the order a cluster needs them applied (Namespaces and
// CRDs first: Apply waits until a CRD is established), keeping the order within a
// stage. The GitOps layer applies in the order it is given.
func Staged(objs []*manifest.Object) []*manifest.Object {
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b *manifest.Object) int {
		return stage(a.Key().Kind) - stage(b.Key().Kind)
	})
	return out
}
