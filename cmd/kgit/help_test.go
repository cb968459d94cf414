package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/cmd/kgit/cli"
	"kgit.dev/kgit/manifest"
)

// TestGetHelpListsEveryKind: `kgit get --help` names every kind of the kinds table, by
// its plural and each of its short names, modelled or kept as a record.
func TestGetHelpListsEveryKind(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"get", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("kgit get --help: exit %d\n%s", code, errb.String())
	}
	help := out.String()
	kinds := manifest.Kinds()
	modelled := 0
	for _, k := range kinds {
		if k.Modelled() {
			modelled++
		}
		for _, name := range append([]string{k.Plural}, k.ShortNames...) {
			word := regexp.MustCompile(`(^|[^a-z0-9.-])` + regexp.QuoteMeta(name) + `($|[^a-z0-9.-])`)
			if !word.MatchString(help) {
				t.Errorf("kgit get --help does not name %s (kind %s)", name, k.Kind)
			}
		}
	}
	if modelled == 0 || modelled == len(kinds) {
		t.Errorf("the kinds table has %d kinds, %d modelled: want both modelled kinds and kinds kept as records", len(kinds), modelled)
	}
}

// TestAutoRollbackErrorOnce: when --auto-rollback brings a one-replica Deployment back,
// the sync still fails (exit 4) and its error is printed once, with no word of the
// rollback failing too; the old pod is back and ready.
func TestAutoRollbackErrorOnce(t *testing.T) {
	e := newRolloutEnv(t)
	e.commitN(1, "v1", rolling25, readyProbe, 600)
	if code, errs := e.kgit("sync"); code != 0 {
		t.Fatalf("sync v1: exit %d\n%s", code, errs)
	}
	e.commitN(1, "v2", rolling25, neverReady, 3)
	code, errs := e.kgit("sync", "--auto-rollback", "--timeout", "60s")
	if code != 4 {
		t.Fatalf("sync --auto-rollback: exit %d, want 4\n%s", code, errs)
	}
	const failure = `deployment "web" exceeded its progress deadline (3s)`
	var errLines []string
	for _, l := range strings.Split(errs, "\n") {
		if strings.HasPrefix(l, "kgit: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.Contains(errLines[0], failure) || !strings.HasSuffix(errLines[0], "(rolled back)") {
		t.Errorf("error lines %q, want one, saying %s (rolled back):\n%s", errLines, failure, errs)
	}
	if n := strings.Count(errs, failure); n != 1 {
		t.Errorf("the error %q is printed %d times, want once:\n%s", failure, n, errs)
	}
	if n := strings.Count(errs, `Rolled back deployment "web" to revision 1`); n != 1 {
		t.Errorf("the rollback is reported %d times, want once:\n%s", n, errs)
	}
	for _, bad := range []string{"did not converge", "failed too"} {
		if strings.Contains(errs, bad) {
			t.Errorf("the rollback converged, yet the sync says %q:\n%s", bad, errs)
		}
	}
	pods, _ := process.New(e.root, "").ListPods(context.Background(), map[string]string{backend.LabelApp: "roll"})
	if len(pods) != 1 || !strings.HasSuffix(pods[0].Spec.Containers[0].Image, ":v1") || !pods[0].Status.Ready {
		t.Errorf("after the rollback %d pods, want the one v1 pod ready", len(pods))
	}
}
