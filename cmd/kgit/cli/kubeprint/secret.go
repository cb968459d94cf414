package kubeprint

import (
	"fmt"
	"time"
)

// A Secret arrives with its values masked: kgit never prints them.
func init() {
	register(&Printer{Kind: "Secret", Columns: []Column{nameColumn,
		{Name: "TYPE", Cell: func(o Object, _ time.Time) string {
			if t := o.Str("type"); t != "" {
				return t
			}
			return "Opaque"
		}},
		{Name: "DATA", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(len(o.Map("data")) + len(o.Map("stringData"))) }},
		ageColumn,
	}})
}
