package manifest

func init() {
	register(&Kind{Kind: "ConfigMap", Versions: []string{"v1"}, Plural: "configmaps", ShortNames: []string{"cm"}, Namespaced: true,
		New: func() Resource { return new(ConfigMap) },
		validate: func(v *validator, r Resource) {
			x := r.(*ConfigMap)
			v.configData(x.Data, "data", false)
			v.configData(x.BinaryData, "binaryData", true)
			for k := range x.Data {
				if _, dup := x.BinaryData[k]; dup {
					v.add("binaryData."+k, nil, "Duplicate value: key %q is in data too", k)
				}
			}
		},
	})
}

// ConfigMap is v1 ConfigMap.
type ConfigMap struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string]string `json:"binaryData,omitempty"` // base64
	Immutable  *bool             `json:"immutable,omitempty"`
}
