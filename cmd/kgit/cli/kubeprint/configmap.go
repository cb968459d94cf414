package kubeprint

import (
	"fmt"
	"time"
)

func init() {
	register(&Printer{Kind: "ConfigMap", Columns: []Column{nameColumn,
		{Name: "DATA", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(len(o.Map("data")) + len(o.Map("binaryData"))) }},
		ageColumn,
	}})
}
