package manifest

// Well-known kinds kgit keeps as records (*Unstructured) without modelling them: their
// group, plural, short names and scope as a cluster's discovery gives them, for `get`
// and for the namespace rule. Any other kind is a custom resource (see KindOf).
func init() {
	for _, k := range []struct {
		kind, group, version, plural string
		short                        []string
		namespaced                   bool
	}{
		{"ServiceAccount", "", "v1", "serviceaccounts", []string{"sa"}, true},
		{"Namespace", "", "v1", "namespaces", []string{"ns"}, false},
		{"PersistentVolume", "", "v1", "persistentvolumes", []string{"pv"}, false},
		{"ResourceQuota", "", "v1", "resourcequotas", []string{"quota"}, true},
		{"LimitRange", "", "v1", "limitranges", []string{"limits"}, true},
		{"Endpoints", "", "v1", "endpoints", []string{"ep"}, true},
		{"PodTemplate", "", "v1", "podtemplates", nil, true},
		{"ReplicationController", "", "v1", "replicationcontrollers", []string{"rc"}, true},
		{"ControllerRevision", "apps", "v1", "controllerrevisions", nil, true},
		{"Role", "rbac.authorization.k8s.io", "v1", "roles", nil, true},
		{"RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", nil, true},
		{"ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", nil, false},
		{"ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", nil, false},
		{"NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", []string{"netpol"}, true},
		{"IngressClass", "networking.k8s.io", "v1", "ingressclasses", nil, false},
		{"PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", []string{"pdb"}, true},
		{"PriorityClass", "scheduling.k8s.io", "v1", "priorityclasses", []string{"pc"}, false},
		{"StorageClass", "storage.k8s.io", "v1", "storageclasses", []string{"sc"}, false},
		{"CSIDriver", "storage.k8s.io", "v1", "csidrivers", nil, false},
		{"VolumeAttachment", "storage.k8s.io", "v1", "volumeattachments", nil, false},
		{"CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions", []string{"crd", "crds"}, false},
		{"APIService", "apiregistration.k8s.io", "v1", "apiservices", nil, false},
		{"MutatingWebhookConfiguration", "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", nil, false},
		{"ValidatingWebhookConfiguration", "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", nil, false},
		{"EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", nil, true},
		{"Lease", "coordination.k8s.io", "v1", "leases", nil, true},
		{"RuntimeClass", "node.k8s.io", "v1", "runtimeclasses", nil, false},
	} {
		register(&Kind{Kind: k.kind, Group: k.group, Versions: []string{k.version}, Plural: k.plural, ShortNames: k.short,
			Namespaced: k.namespaced, pathSegmentNames: k.group == "rbac.authorization.k8s.io"})
	}
}
