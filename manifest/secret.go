package manifest

func init() {
	register(&Kind{Kind: "Secret", Versions: []string{"v1"}, Plural: "secrets", Namespaced: true,
		New: func() Resource { return new(Secret) },
		validate: func(v *validator, r Resource) {
			x := r.(*Secret)
			v.configData(x.Data, "data", true)
			v.configData(x.StringData, "stringData", false)
		},
	})
}

// Secret is v1 Secret. Its values never appear in kgit's output.
type Secret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string]string `json:"data,omitempty"` // base64
	StringData map[string]string `json:"stringData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
}
