package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kgit.dev/kgit/cmd/kgit/cli"
)

// The golden tests pin what kgit prints: kubectl's tables and documents (get, describe,
// rollout history, events), diff and sync's progress. They run kgit through cli.Main,
// the entry point of the binary, over a real git repository on the process backend,
// and compare each output, normalised (see normalise), with a file under
// testdata/golden. After a deliberate change of output:
//
//	go test ./cmd/kgit -run Golden -update
//
// rewrites the files; review them with git diff before committing.
//
// This is the update path for kgit's output. The testscript scenarios
// (testdata/script) check behaviour with regular expressions (`stdout '^web +2/2'`);
// testscript's UPDATE_SCRIPTS=1 only rewrites a file of a script's own txtar archive
// that the script compares with `cmp`, and the scenarios have one such file
// (statefulset.txtar's want-order), so it rewrites almost nothing.
var update = flag.Bool("update", false, "rewrite the golden files of TestGolden")

// goldenDir holds the golden files and, under repo, the manifests they are made from.
const goldenDir = "../../testdata/golden"

// goldenSecret is the Secret's value in testdata/golden/repo: no output may show it.
const goldenSecret = "hunter2-never-shown"

// goldenEnv is one git repository and one process backend for TestGolden.
type goldenEnv struct {
	t    *testing.T
	repo string
	// day is the day of the next commit: commits have fixed authors and dates, so that
	// their SHAs, and all that shows them, are the same on every run.
	day int
}

func TestGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	dir := t.TempDir()
	e := &goldenEnv{t: t, repo: filepath.Join(dir, "repo"), day: 1}
	root := filepath.Join(dir, "root")
	t.Setenv("KGIT_PROCESS_ROOT", root)
	t.Setenv("KGIT_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("KGIT_BACKEND", "process")
	t.Setenv("HOME", dir)
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"} {
		t.Setenv(k, "kgit test")
	}
	for _, k := range []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
		t.Setenv(k, "test@kgit.dev")
	}
	t.Cleanup(func() { stopAll(root) })
	if err := os.CopyFS(e.repo, os.DirFS(filepath.Join(goldenDir, "repo"))); err != nil {
		t.Fatal(err)
	}
	e.git("init", "-q", "-b", "main")
	e.commit("shop and api v1")

	shop := []string{"--repo", e.repo, "--path", "shop", "--app", "shop"}
	roll := []string{"--repo", e.repo, "--path", "roll", "--app", "roll"}

	// The first sync of shop creates pods of five owners at once, in no fixed order:
	// only its exit code is checked. roll's one Deployment syncs the same way each time.
	e.run(0, "", args("sync", "--timeout", "60s"), shop)
	e.run(0, "sync_roll_create", args("sync", "--timeout", "60s"), roll)

	// get: every kind, in every format, across both apps.
	for _, kind := range []string{"pods", "replicasets", "deployments", "statefulsets", "daemonsets", "services", "configmaps", "secrets"} {
		e.run(0, "get_"+kind, args("get", kind))
		e.run(0, "get_"+kind+"_wide", args("get", kind, "-o", "wide"))
		e.run(0, "get_"+kind+"_json", args("get", kind, "-o", "json"))
		e.run(0, "get_"+kind+"_yaml", args("get", kind, "-o", "yaml"))
	}
	e.run(0, "get_pod_solo_yaml", args("get", "pod", "solo", "-o", "yaml"))
	e.run(0, "get_deploy_label_selector", args("get", "deploy", "-l", "app=web"))
	// kubectl's other output habits: names, JSONPath, custom columns, labels, sorting,
	// namespaces, several kinds at once.
	e.run(0, "get_pods_name", args("get", "pods", "-o", "name"))
	e.run(0, "get_deploy_jsonpath", args("get", "deploy", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.replicas}{"\n"}{end}`))
	e.run(0, "get_deploy_web_jsonpath", args("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"))
	e.run(0, "get_deploy_custom_columns", args("get", "deploy", "-o", "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,IMAGES:.spec.template.spec.containers[*].image,MISSING:.status.nothing", "--sort-by", ".spec.replicas"))
	e.run(0, "get_deploy_labels", args("get", "deploy", "--show-labels", "-L", "app", "-l", "app=web"))
	e.run(0, "get_deploy_no_headers", args("get", "deploy", "--no-headers", "-o", "custom-columns=NAME:.metadata.name", "--sort-by", "{.metadata.name}"))
	e.run(0, "get_svc_all_namespaces", args("get", "svc", "-A"))
	e.run(0, "get_deploy_svc", args("get", "deploy,svc"))
	e.run(0, "get_all", args("get", "all", "--app", "shop"))
	e.run(0, "get_all_name", args("get", "all", "-o", "name", "--app", "shop"))

	// describe: every kind; a pod of a Deployment and a bare one.
	webPod := e.podName("app=web")
	for _, obj := range []string{"deploy/web", "pod/solo", "pod/" + webPod, "svc/storefront", "secret/creds", "cm/settings", "sts/db", "ds/agent", "rs/worker"} {
		name := strings.ReplaceAll(obj, "/", "_")
		if obj == "pod/"+webPod {
			name = "pod_web"
		}
		e.run(0, "describe_"+name, args("describe", obj))
	}

	// roll v1 to v2: diff first, then the rolling update, its history and its events.
	e.edit("roll/app.yaml", "value: v1}", "value: v2}")
	e.commit("api v2")
	e.run(1, "diff_roll", args("diff"), roll)
	e.run(0, "sync_roll_update", args("sync", "--timeout", "60s"), roll)
	e.run(0, "sync_roll_noop", args("sync"), roll)
	e.run(0, "diff_roll_none", args("diff"), roll)
	e.run(0, "rollout_history", args("rollout", "history", "deploy/api"), roll)
	e.run(0, "rollout_history_revision_1", args("rollout", "history", "deploy/api", "--revision", "1"), roll)
	e.run(0, "rollout_history_json", args("rollout", "history", "deploy/api", "-o", "json"), roll)
	e.run(0, "rollout_status", args("rollout", "status", "deploy/api", "--watch=false"), roll)
	e.run(0, "events_roll", args("events", "--app", "roll"))
	e.run(0, "describe_deploy_api", args("describe", "deploy/api", "--app", "roll"))

	// A pod that leaves git shows as a deletion.
	e.edit("shop/app.yaml", podSolo, "")
	e.commit("shop without solo")
	e.run(1, "diff_shop_prune", args("diff"), shop)
	e.run(0, "diff_shop_no_prune", args("diff", "--prune=false"), shop)
}

// podSolo is the bare Pod of testdata/golden/repo/shop/app.yaml.
const podSolo = `---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: solo, image: example.com/solo:1, command: [sh, -c, 'sleep 3600']}
`

func args(a ...string) []string { return a }

// run runs kgit with the arguments and checks its exit code, then its stdout against
// testdata/golden/NAME.golden (and its stderr against NAME.stderr.golden when it is not
// empty); an empty name checks the exit code only. Whatever fails is reported and the
// test goes on, so that one run shows every output that changed.
func (e *goldenEnv) run(want int, name string, argv ...[]string) {
	e.t.Helper()
	var all []string
	for _, a := range argv {
		all = append(all, a...)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Main(all, &stdout, &stderr)
	if code != want {
		e.t.Errorf("kgit %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(all, " "), code, want, &stdout, &stderr)
	}
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, goldenSecret) {
			e.t.Errorf("kgit %s shows the Secret's value:\n%s", strings.Join(all, " "), out)
		}
	}
	if name == "" {
		return
	}
	e.golden(name+".golden", stdout.String())
	e.golden(name+".stderr.golden", stderr.String())
}

// golden compares the normalised output with the file, or with -update rewrites it. An
// empty output has no file: a file that is there says the output is not empty.
func (e *goldenEnv) golden(file, out string) {
	e.t.Helper()
	path := filepath.Join(goldenDir, file)
	got, err := normalise(out)
	if err != nil {
		e.t.Errorf("%s: %v\n%s", file, err, out)
		return
	}
	if *update {
		if got == "" {
			err = os.Remove(path)
			if os.IsNotExist(err) {
				err = nil
			}
		} else {
			err = os.WriteFile(path, []byte(got), 0o644)
		}
		if err != nil {
			e.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		e.t.Errorf("%s differs (-golden +got); if the change is meant, rerun with -update:\n%s", file, d)
	}
}

func (e *goldenEnv) git(args ...string) {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = e.repo
	date := fmt.Sprintf("2025-01-%02dT12:00:00Z", e.day)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func (e *goldenEnv) commit(subject string) {
	e.t.Helper()
	e.git("add", "-A")
	e.git("commit", "-qm", subject)
	e.day++
}

// edit replaces old, which must be there, with new in a file of the repository.
func (e *goldenEnv) edit(file, old, new string) {
	e.t.Helper()
	path := filepath.Join(e.repo, file)
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		e.t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// podName is the name of the first pod the selector finds.
func (e *goldenEnv) podName(selector string) string {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"get", "pods", "-l", selector, "-o", "json"}, &stdout, &stderr); code != 0 {
		e.t.Fatalf("get pods: exit %d: %s", code, &stderr)
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil || len(list.Items) == 0 {
		e.t.Fatalf("no pod has %s (%v):\n%s", selector, err, &stdout)
	}
	return list.Items[0].Metadata.Name
}

// normalise hides what differs from one run to the next, and nothing else:
//
//   - ages, in the columns AGE, LAST SEEN, APPLIED and RESTARTS ("1 (5s ago)") and in
//     describe's Events: <age>;
//   - how long a sync took ("synced at ... in 404ms"): <duration>;
//   - timestamps, RFC 3339 (JSON, YAML) and RFC 1123 (describe): <time>;
//   - pod UIDs: <uid>;
//   - pod addresses (127.x.y.z; not 127.0.0.1, and not a Service's 127.255.x.y, which
//     is a hash of its name): <pod-ip>;
//   - the random five characters that end the name of a ReplicaSet's pod
//     (web-574f57cdc8-p9zr4): web-574f57cdc8-xxxxx;
//   - sync's progress counts ("deployment.apps/api: 1/1 updated, 0 ready, 0
//     available"): only the last of each object is kept, the one a converged sync
//     ends with; how many come before it, and with which numbers, depends on when
//     the sync's polls see a pod become ready. Every action line is kept.
//
// Commit SHAs, pod-template hashes, config digests and Service addresses are the same
// on every run (fixed commit dates), so they are not hidden.
//
// A table (a header line in capitals with columns at least two spaces apart, as
// tabwriter prints them) is cut into cells at its header's column offsets (a row not
// aligned with its header is an error, so alignment stays tested), normalised cell by
// cell, and aligned again: a tabwriter table keeps each column's gap, describe's Events
// (fixed-width columns) keep their widths.
func normalise(out string) (string, error) {
	all := strings.SplitAfter(out, "\n")
	last := map[string]int{} // the last count line of each object
	for i, line := range all {
		if m := progress.FindStringSubmatch(line); m != nil {
			last[m[1]] = i
		}
	}
	var lines []string
	for i, line := range all {
		if m := progress.FindStringSubmatch(line); m == nil || last[m[1]] == i {
			lines = append(lines, line)
		}
	}
	for i := 0; i < len(lines); i++ {
		fixed := describeEvents.MatchString(lines[i])
		if !fixed && !tableHeader.MatchString(lines[i]) {
			lines[i] = normaliseText(lines[i])
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "" && (!fixed || strings.HasPrefix(lines[end], "  ")) {
			end++
		}
		table, err := retable(lines[i:end], fixed)
		if err != nil {
			return "", err
		}
		copy(lines[i:end], table)
		i = end - 1
	}
	return strings.Join(lines, ""), nil
}

var (
	tableHeader    = regexp.MustCompile(`^[A-Z][A-Z()-]*( [A-Z()-]+)?(  +[A-Z][A-Z()-]*( [A-Z()-]+)?)+\n$`)
	describeEvents = regexp.MustCompile(`^  Reason +Age +Message\n$`)
	progress       = regexp.MustCompile(`^([a-z.]+/[a-z0-9.-]+): [0-9]+/[0-9]+ updated, [0-9]+ ready, [0-9]+ available\n$`)
	ageColumns     = map[string]bool{"AGE": true, "LAST SEEN": true, "APPLIED": true, "RESTARTS": true, "Age": true}
	age            = regexp.MustCompile(`\b[0-9]+[smhdy]([0-9]+[smh])?\b`)
	duration       = regexp.MustCompile(` in ([0-9]+(\.[0-9]+)?(h|m|s|ms|µs|ns))+\n$`)
	rfc3339        = regexp.MustCompile(`\b[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})`)
	rfc1123        = regexp.MustCompile(`\b[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}`)
	uid            = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	podIP          = regexp.MustCompile(`\b127\.[0-9]+\.[0-9]+\.[0-9]+\b`)
	podSuffix      = regexp.MustCompile(`([a-z0-9])-[bcdfghjklmnpqrstvwxz2456789]{5}\b`) // Kubernetes' alphabet: no vowels
)

func normaliseText(s string) string {
	s = duration.ReplaceAllString(s, " in <duration>\n")
	s = rfc3339.ReplaceAllString(s, "<time>")
	s = rfc1123.ReplaceAllString(s, "<time>")
	s = uid.ReplaceAllString(s, "<uid>")
	s = podIP.ReplaceAllStringFunc(s, func(ip string) string {
		if ip == "127.0.0.1" || strings.HasPrefix(ip, "127.255.") {
			return ip
		}
		return "<pod-ip>"
	})
	return podSuffix.ReplaceAllString(s, "$1-xxxxx")
}

// retable normalises the cells of a table whose first line is its header.
func retable(lines []string, fixed bool) ([]string, error) {
	header := strings.TrimSuffix(lines[0], "\n")
	starts := []int{0}
	if fixed {
		starts[0] = 2
	}
	for i := starts[0] + 1; i < len(header); i++ {
		if header[i] != ' ' && strings.HasSuffix(header[:i], "  ") {
			starts = append(starts, i)
		}
	}
	n := len(starts)
	names := make([]string, n)
	for c, s := range starts {
		end := len(header)
		if c < n-1 {
			end = starts[c+1]
		}
		names[c] = strings.TrimSpace(header[s:end])
	}
	rows := make([][]string, len(lines))
	widths, oldMax, newMax := make([]int, n), make([]int, n), make([]int, n)
	for c := 0; c < n-1; c++ {
		widths[c] = starts[c+1] - starts[c]
	}
	for r, line := range lines {
		line = strings.TrimSuffix(line, "\n")
		for c, s := range starts {
			if len(line) <= s || line[s] == ' ' || (s > 0 && line[s-1] != ' ') {
				return nil, fmt.Errorf("row %q is not aligned with its header %q (column %d at offset %d)", line, header, c+1, s)
			}
		}
		cells := make([]string, n)
		for c, s := range starts {
			end := len(line)
			if c < n-1 {
				end = starts[c+1]
			}
			cell := strings.TrimRight(line[s:end], " ")
			oldMax[c] = max(oldMax[c], len(cell))
			if r > 0 {
				cell = normaliseText(cell)
				if ageColumns[names[c]] {
					cell = age.ReplaceAllString(cell, "<age>")
				}
			}
			newMax[c] = max(newMax[c], len(cell))
			cells[c] = cell
		}
		rows[r] = cells
	}
	out := make([]string, len(lines))
	for r, cells := range rows {
		var b strings.Builder
		b.WriteString(strings.Repeat(" ", starts[0]))
		for c, cell := range cells {
			b.WriteString(cell)
			if c == n-1 {
				break
			}
			w := widths[c] - oldMax[c] + newMax[c] // a tabwriter table keeps its gap
			if fixed {
				w = max(widths[c], newMax[c]+1) // a fixed-width column keeps its width
			}
			b.WriteString(strings.Repeat(" ", w-len(cell)))
		}
		out[r] = b.String() + "\n"
	}
	return out, nil
}

// TestGoldenNormalise checks the normaliser on its own: a table (up to a blank line or
// the end) is realigned after its cells are normalised, and a row out of line with its
// header is an error.
func TestGoldenNormalise(t *testing.T) {
	in := "NAME                   READY   AGE   IP\n" +
		"web-574f57cdc8-p9zr4   1/1     12s   127.140.23.56\n" +
		"db-0                   1/1     5s    127.1.2.3\n" +
		"\n" +
		"Events:\n" +
		"  Reason               Age      Message\n" +
		"  SuccessfulCreate     3m20s    Created pod: web-574f57cdc8-zxhml\n" +
		"CreationTimestamp:      Fri, 04 Dec 2026 14:20:28 +0000\n" +
		"app roll synced at 4f6df3daaf7d in 1.5s\n"
	want := "NAME                   READY   AGE     IP\n" +
		"web-574f57cdc8-xxxxx   1/1     <age>   <pod-ip>\n" +
		"db-0                   1/1     <age>   <pod-ip>\n" +
		"\n" +
		"Events:\n" +
		"  Reason               Age      Message\n" +
		"  SuccessfulCreate     <age>    Created pod: web-574f57cdc8-xxxxx\n" +
		"CreationTimestamp:      <time>\n" +
		"app roll synced at 4f6df3daaf7d in <duration>\n"
	got, err := normalise(in)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("normalise (-want +got):\n%s", d)
	}
	if _, err := normalise("NAME   READY\nweb     1/1\n"); err == nil {
		t.Error("a misaligned row was not reported")
	}
}
