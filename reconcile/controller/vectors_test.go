package controller

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// vectors are Kubernetes' own test cases (testdata/k8s-vectors.json, copied from the
// reference), run as table tests.
func vectors(t *testing.T, group string, into any) {
	t.Helper()
	data, err := os.ReadFile("../../testdata/k8s-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Vectors map[string]json.RawMessage `json:"vectors"`
	}
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	raw, ok := all.Vectors[group]
	if !ok {
		t.Fatalf("no vector group %q", group)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", group, err)
	}
}

// ios is a vector's int-or-string: a JSON number, a string, or null.
type ios struct{ v *manifest.IntOrString }

func (x *ios) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	x.v = new(manifest.IntOrString)
	return x.v.UnmarshalJSON(b)
}

func TestIntOrStringScaledValue(t *testing.T) {
	var rows []struct {
		Input   ios
		Total   int
		RoundUp bool `json:"round_up"`
		Expect  *int
		Error   bool
	}
	vectors(t, "intstr_scaled_value", &rows)
	for _, r := range rows {
		got, err := manifest.ScaledValue(r.Input.v, r.Total, r.RoundUp)
		if (err != nil) != r.Error {
			t.Errorf("%v of %d: error %v, want error %v", r.Input.v, r.Total, err, r.Error)
			continue
		}
		if r.Expect != nil && got != *r.Expect {
			t.Errorf("%v of %d (round up %v) = %d, want %d", r.Input.v, r.Total, r.RoundUp, got, *r.Expect)
		}
	}
}

func TestResolveFenceposts(t *testing.T) {
	var rows []struct {
		MaxSurge          ios `json:"max_surge"`
		MaxUnavailable    ios `json:"max_unavailable"`
		Desired           int
		ExpectSurge       int `json:"expect_surge"`
		ExpectUnavailable int `json:"expect_unavailable"`
		Error             bool
	}
	vectors(t, "resolve_fenceposts", &rows)
	for _, r := range rows {
		s, u, err := ResolveFenceposts(r.MaxSurge.v, r.MaxUnavailable.v, r.Desired)
		if (err != nil) != r.Error || err == nil && (s != r.ExpectSurge || u != r.ExpectUnavailable) {
			t.Errorf("ResolveFenceposts(%v, %v, %d) = %d, %d, %v; want %d, %d, error %v",
				r.MaxSurge.v, r.MaxUnavailable.v, r.Desired, s, u, err, r.ExpectSurge, r.ExpectUnavailable, r.Error)
		}
	}
}

type strategyRow struct {
	Name           string
	Strategy       string
	Replicas       int
	MaxSurge       ios `json:"max_surge"`
	MaxUnavailable ios `json:"max_unavailable"`
	Expect         int
}

func (r strategyRow) strategy() Strategy {
	return Strategy{Type: r.Strategy, Replicas: r.Replicas, MaxSurge: r.MaxSurge.v, MaxUnavailable: r.MaxUnavailable.v}
}

func TestMaxUnavailableMinAvailableMaxSurge(t *testing.T) {
	for group, f := range map[string]func(Strategy) int{"max_unavailable": MaxUnavailable, "min_available": MinAvailable, "max_surge": MaxSurge} {
		var rows []strategyRow
		vectors(t, group, &rows)
		for _, r := range rows {
			if got := f(r.strategy()); got != r.Expect {
				t.Errorf("%s %q (%+v) = %d, want %d", group, r.Name, r, got, r.Expect)
			}
		}
	}
}

// defaultZero is the upstream unit tests' deployment default: surge and unavailable 0.
func defaultZero(v *manifest.IntOrString) *manifest.IntOrString {
	if v == nil {
		z := manifest.FromInt(0)
		return &z
	}
	return v
}

func TestNewRSNewReplicas(t *testing.T) {
	var rows []struct {
		Name           string
		Strategy       string
		DeployReplicas int   `json:"deployment_replicas"`
		MaxSurge       ios   `json:"max_surge"`
		MaxUnavailable ios   `json:"max_unavailable"`
		NewRSReplicas  int   `json:"new_rs_replicas"`
		AllRSReplicas  []int `json:"all_rs_replicas"`
		Expect         int
	}
	vectors(t, "new_rs_new_replicas", &rows)
	for _, r := range rows {
		var all []ScaleRS
		for i, n := range r.AllRSReplicas {
			all = append(all, ScaleRS{Name: fmt.Sprint("rs", i), Replicas: n})
		}
		s := Strategy{Type: r.Strategy, Replicas: r.DeployReplicas, MaxSurge: defaultZero(r.MaxSurge.v), MaxUnavailable: defaultZero(r.MaxUnavailable.v)}
		got, err := NewRSNewReplicas(s, all, ScaleRS{Name: "new", Replicas: r.NewRSReplicas})
		if err != nil || got != r.Expect {
			t.Errorf("%s: got %d, %v; want %d", r.Name, got, err, r.Expect)
		}
	}
}

type rollingRow struct {
	DeployReplicas int `json:"deployment_replicas"`
	MaxSurge       ios `json:"max_surge"`
	MaxUnavailable ios `json:"max_unavailable"`
	OldReplicas    int `json:"old_replicas"`
	NewReplicas    int `json:"new_replicas"`
	OldAvailable   int `json:"old_available"`
	NewAvailable   int `json:"new_available"`
}

func (r rollingRow) strategy() Strategy {
	return Strategy{Type: "RollingUpdate", Replicas: r.DeployReplicas, MaxSurge: defaultZero(r.MaxSurge.v), MaxUnavailable: defaultZero(r.MaxUnavailable.v)}
}

func TestReconcileNewReplicaSet(t *testing.T) {
	var rows []struct {
		rollingRow
		ExpectScaled      bool `json:"expect_scaled"`
		ExpectNewReplicas int  `json:"expect_new_replicas"`
	}
	vectors(t, "reconcile_new_replica_set", &rows)
	for _, r := range rows {
		s := r.strategy()
		newRS := ScaleRS{Name: "new", Replicas: r.NewReplicas}
		all := []ScaleRS{{Name: "old", Replicas: r.OldReplicas}, newRS}
		got := newRS.Replicas
		switch {
		case newRS.Replicas > s.Replicas:
			got = s.Replicas
		case newRS.Replicas < s.Replicas:
			n, err := NewRSNewReplicas(s, all, newRS)
			if err != nil {
				t.Fatal(err)
			}
			got = n
		}
		if scaled := got != newRS.Replicas; scaled != r.ExpectScaled || got != r.ExpectNewReplicas {
			t.Errorf("%+v: new replicas %d (scaled %v), want %d (scaled %v)", r.rollingRow, got, scaled, r.ExpectNewReplicas, r.ExpectScaled)
		}
	}
}

func TestReconcileOldReplicaSets(t *testing.T) {
	var rows []struct {
		rollingRow
		ExpectScaled         bool `json:"expect_scaled"`
		ExpectOldReplicas    int  `json:"expect_old_replicas"`
		ExpectCleanupCount   int  `json:"expect_cleanup_count"`
		ExpectScaledownCount int  `json:"expect_scaledown_count"`
	}
	vectors(t, "reconcile_old_replica_sets", &rows)
	for _, r := range rows {
		old := ScaleRS{Name: "old", Replicas: r.OldReplicas, Available: r.OldAvailable}
		newRS := ScaleRS{Name: "new", Replicas: r.NewReplicas, Available: r.NewAvailable}
		sizes, cleaned, scaled := ReconcileOld(r.strategy(), []ScaleRS{old}, newRS)
		got, ok := sizes["old"]
		if !ok {
			got = r.OldReplicas
		}
		if (cleaned+scaled > 0) != r.ExpectScaled || got != r.ExpectOldReplicas || cleaned != r.ExpectCleanupCount || scaled != r.ExpectScaledownCount {
			t.Errorf("%+v: old %d, cleaned %d, scaled %d; want old %d, cleaned %d, scaled %d", r.rollingRow, got, cleaned, scaled,
				r.ExpectOldReplicas, r.ExpectCleanupCount, r.ExpectScaledownCount)
		}
	}
}

func TestCleanupUnhealthyReplicas(t *testing.T) {
	var rows []struct {
		rollingRow
		MaxCleanup  int `json:"max_cleanup_count"`
		ExpectCount int `json:"expect_cleanup_count"`
		ExpectAfter int `json:"expect_old_replicas_after"`
	}
	vectors(t, "cleanup_unhealthy_replicas", &rows)
	for _, r := range rows {
		sizes := map[string]int{}
		out, n := cleanupUnhealthy([]ScaleRS{{Name: "old", Replicas: r.OldReplicas, Available: r.OldAvailable}}, r.MaxCleanup, sizes)
		if n != r.ExpectCount || out[0].Replicas != r.ExpectAfter {
			t.Errorf("%+v max %d: cleaned %d to %d, want %d to %d", r.rollingRow, r.MaxCleanup, n, out[0].Replicas, r.ExpectCount, r.ExpectAfter)
		}
	}
}

func TestScaleDownOldReplicaSetsForRollingUpdate(t *testing.T) {
	var rows []struct {
		rollingRow
		ExpectScaled      bool `json:"expect_scaled"`
		ExpectOldReplicas int  `json:"expect_old_replicas"`
	}
	vectors(t, "scale_down_old_for_rolling_update", &rows)
	for _, r := range rows {
		old := ScaleRS{Name: "old", Replicas: r.OldReplicas, Available: r.OldAvailable}
		sizes := map[string]int{}
		n := scaleDownOld(r.strategy(), []ScaleRS{old}, []ScaleRS{old}, sizes)
		got, ok := sizes["old"]
		if !ok {
			got = r.OldReplicas
		}
		if (n > 0) != r.ExpectScaled || got != r.ExpectOldReplicas {
			t.Errorf("%+v: old %d (scaled %d), want %d", r.rollingRow, got, n, r.ExpectOldReplicas)
		}
	}
}

func TestSafeEncodeStringAndFNV(t *testing.T) {
	var enc []struct{ Input, Expect string }
	vectors(t, "safe_encode_string", &enc)
	for _, r := range enc {
		if got := SafeEncodeString(r.Input); got != r.Expect {
			t.Errorf("SafeEncodeString(%q) = %q, want %q", r.Input, got, r.Expect)
		}
	}
	var sums []struct {
		Input  string `json:"input_utf8"`
		Expect uint32
	}
	vectors(t, "fnv32a", &sums)
	for _, r := range sums {
		h := fnv.New32a()
		h.Write([]byte(r.Input))
		if h.Sum32() != r.Expect {
			t.Errorf("fnv32a(%q) = %d, want %d", r.Input, h.Sum32(), r.Expect)
		}
	}
}

type vectorPod struct {
	Name         string
	Node         string
	Phase        string
	Ready        bool
	ReadySince   *float64 `json:"ready_since"`
	Restarts     int32
	Created      *float64
	DeletionCost *int32 `json:"deletion_cost"`
}

func secs(f *float64) time.Time {
	if f == nil {
		return time.Time{}
	}
	return time.Unix(int64(*f), 0)
}

func (v vectorPod) ranked(rank int) rankedPod {
	p := &backend.Pod{PodSpec: backend.PodSpec{Name: v.Name}, Created: secs(v.Created)}
	p.Status = backend.PodStatus{Phase: v.Phase, Ready: v.Ready, ReadySince: secs(v.ReadySince),
		Containers: []backend.ContainerStatus{{RestartCount: v.Restarts}}}
	if v.DeletionCost != nil {
		p.Annotations = map[string]string{DeletionCostAnnotation: strconv.Itoa(int(*v.DeletionCost))}
	}
	return rankedPod{Pod: p, Rank: rank, Unassigned: v.Node == ""}
}

func TestActivePodsOrder(t *testing.T) {
	var v struct {
		Now    float64 `json:"now_s"`
		Pods   []vectorPod
		Expect []string `json:"expect_order"`
	}
	vectors(t, "active_pods_order", &v)
	// Sort the reverse of the expected order, so a no-op sort cannot pass.
	var pods []rankedPod
	for i := len(v.Pods) - 1; i >= 0; i-- {
		pods = append(pods, v.Pods[i].ranked(0))
	}
	SortForDeletion(pods, secs(&v.Now), Gates{})
	for i, p := range pods {
		if p.Pod.Name != v.Expect[i] {
			t.Fatalf("position %d: %s, want %s (order %v)", i, p.Pod.Name, v.Expect[i], names(pods))
		}
	}
}

func names(pods []rankedPod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Pod.Name)
	}
	return out
}

func TestActivePodsWithRanks(t *testing.T) {
	var v struct {
		Now   float64 `json:"now_s"`
		Pods  map[string]vectorPod
		Equal []struct {
			P1, P2       string
			Rank1, Rank2 int
		} `json:"equal_pairs"`
		Ordered []struct {
			Lesser      string
			LesserRank  int `json:"lesser_rank"`
			Greater     string
			GreaterRank int  `json:"greater_rank"`
			CostGate    bool `json:"pod_deletion_cost_gate"`
			LogGate     bool `json:"logarithmic_scale_down_gate"`
		} `json:"lesser_greater_pairs"`
	}
	vectors(t, "active_pods_with_ranks", &v)
	now := secs(&v.Now)
	all := Gates{DeletionCost: true, LogarithmicScaleDown: true}
	for _, e := range v.Equal {
		a, b := v.Pods[e.P1].ranked(e.Rank1), v.Pods[e.P2].ranked(e.Rank2)
		if deleteFirst(a, b, now, all) || deleteFirst(b, a, now, all) {
			t.Errorf("%s and %s should be equal", e.P1, e.P2)
		}
	}
	for _, o := range v.Ordered {
		g := Gates{DeletionCost: o.CostGate, LogarithmicScaleDown: o.LogGate}
		a, b := v.Pods[o.Lesser].ranked(o.LesserRank), v.Pods[o.Greater].ranked(o.GreaterRank)
		if !deleteFirst(a, b, now, g) || deleteFirst(b, a, now, g) {
			t.Errorf("%s (rank %d) should be deleted before %s (rank %d) with %+v", o.Lesser, o.LesserRank, o.Greater, o.GreaterRank, g)
		}
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	var rows []struct {
		Name    string
		Runs    []float64 `json:"run_durations_s"`
		Initial float64   `json:"initial_s"`
		Max     float64   `json:"max_s"`
		Expect  []float64 `json:"expect_delays_s"`
	}
	vectors(t, "crashloop_backoff", &rows)
	for _, r := range rows {
		b := &process.Backoff{Initial: time.Duration(r.Initial) * time.Second, Max: time.Duration(r.Max) * time.Second}
		clock := time.Unix(0, 0)
		for i, run := range r.Runs {
			clock = clock.Add(time.Duration(run * float64(time.Second)))
			delay := b.Next(clock)
			if want := time.Duration(r.Expect[i] * float64(time.Second)); delay != want {
				t.Errorf("%s: restart %d waits %s, want %s", r.Name, i, delay, want)
			}
			clock = clock.Add(delay)
		}
	}
}

func TestProportionalScale(t *testing.T) {
	type rsv struct {
		Name        string
		Replicas    int
		Created     float64
		Available   int
		Annotations map[string]string
	}
	var rows []struct {
		Name       string
		Deployment struct {
			Replicas       int
			Strategy       string
			MaxSurge       ios `json:"max_surge"`
			MaxUnavailable ios `json:"max_unavailable"`
		}
		NewRS  *rsv           `json:"new_rs"`
		OldRSs []rsv          `json:"old_rss"`
		Expect map[string]int `json:"expect_replicas"`
	}
	vectors(t, "proportional_scale", &rows)
	view := func(v rsv) ScaleRS {
		s := ScaleRS{Name: v.Name, Replicas: v.Replicas, Available: v.Available, Created: secs(&v.Created), Desired: -1}
		if n, err := strconv.Atoi(v.Annotations[DesiredReplicasAnnotation]); err == nil {
			s.Desired = n
		}
		if n, err := strconv.Atoi(v.Annotations[MaxReplicasAnnotation]); err == nil {
			s.Max = n
		}
		return s
	}
	for _, r := range rows {
		d := r.Deployment
		s := Strategy{Type: d.Strategy, Replicas: d.Replicas, MaxSurge: defaultZero(d.MaxSurge.v), MaxUnavailable: defaultZero(d.MaxUnavailable.v)}
		var newRS *ScaleRS
		got := map[string]int{}
		if r.NewRS != nil {
			v := view(*r.NewRS)
			newRS = &v
			got[v.Name] = v.Replicas
		}
		var old []ScaleRS
		statusReplicas := 0
		for _, o := range r.OldRSs {
			old = append(old, view(o))
			got[o.Name] = o.Replicas
			statusReplicas += o.Replicas
		}
		if newRS != nil {
			statusReplicas += newRS.Replicas
		}
		for name, n := range ProportionalScale(s, newRS, old, statusReplicas) {
			got[name] = n
		}
		for name, want := range r.Expect {
			if got[name] != want {
				t.Errorf("%s: %s = %d, want %d (all %v)", r.Name, name, got[name], want, got)
			}
		}
	}
}

func TestCleanupDeployment(t *testing.T) {
	type old struct {
		Name           string
		SpecReplicas   int  `json:"spec_replicas"`
		StatusReplicas int  `json:"status_replicas"`
		Deleting       bool `json:"deletion_timestamp_set"`
		Revision       *string
		Created        *float64
	}
	var rows []struct {
		OldRSs  []old    `json:"old_rss"`
		Limit   int      `json:"revision_history_limit"`
		Deleted []string `json:"expect_deleted"`
	}
	var ordered []struct {
		OldRSs  []old    `json:"old_rss"`
		Limit   int      `json:"revision_history_limit"`
		Deleted []string `json:"expect_deleted"`
	}
	vectors(t, "cleanup_deployment", &rows)
	vectors(t, "cleanup_deployment_order", &ordered)
	for i, r := range append(rows, ordered...) {
		var views []HistoryRS
		for _, o := range r.OldRSs {
			if o.Deleting {
				continue // already being deleted: not counted
			}
			h := HistoryRS{Name: o.Name, SpecReplicas: o.SpecReplicas, StatusReplicas: o.StatusReplicas, Created: secs(o.Created)}
			if o.Revision != nil {
				h.Revision = *o.Revision
			}
			views = append(views, h)
		}
		got := CleanupOrder(views, r.Limit)
		if fmt.Sprint(got) != fmt.Sprint(r.Deleted) && !(len(got) == 0 && len(r.Deleted) == 0) {
			t.Errorf("case %d (limit %d): deleted %v, want %v", i, r.Limit, got, r.Deleted)
		}
	}
}

func TestDeploymentCompleteProgressingTimedOut(t *testing.T) {
	var complete []struct {
		Name           string
		SpecReplicas   int `json:"spec_replicas"`
		StatusReplicas int `json:"status_replicas"`
		Updated        int
		Available      int
		Expect         bool
	}
	vectors(t, "deployment_complete", &complete)
	for _, r := range complete {
		if got := DeploymentComplete(r.SpecReplicas, reconcile.Progress{Replicas: r.StatusReplicas, Updated: r.Updated, Available: r.Available}); got != r.Expect {
			t.Errorf("complete %q = %v, want %v", r.Name, got, r.Expect)
		}
	}
	var progressing []struct {
		Name   string
		Old    reconcile.Progress `json:"old_status"`
		New    reconcile.Progress `json:"new_status"`
		Expect bool
	}
	vectors(t, "deployment_progressing", &progressing)
	for _, r := range progressing {
		if got := DeploymentProgressing(r.Old, r.New); got != r.Expect {
			t.Errorf("progressing %q = %v, want %v", r.Name, got, r.Expect)
		}
	}
	var timedOut []struct {
		Name   string
		PDS    *int32  `json:"progress_deadline_seconds"`
		Reason string  `json:"condition_reason"`
		Last   float64 `json:"condition_last_update_s"`
		Now    float64 `json:"now_s"`
		Expect bool
	}
	vectors(t, "deployment_timed_out", &timedOut)
	for _, r := range timedOut {
		cond := &reconcile.Condition{Type: "Progressing", Reason: r.Reason, LastUpdateTime: secs(&r.Last)}
		if got := DeploymentTimedOut(r.PDS, cond, secs(&r.Now)); got != r.Expect {
			t.Errorf("timed out %q = %v, want %v", r.Name, got, r.Expect)
		}
	}
}

func TestSyncRolloutStatus(t *testing.T) {
	type rsRow struct {
		Name           string
		SpecReplicas   int `json:"spec_replicas"`
		StatusReplicas int `json:"status_replicas"`
		Available      int
		Ready          int
	}
	var rows []struct {
		Name         string
		PDS          *int32 `json:"progress_deadline_seconds"`
		SpecReplicas int32  `json:"spec_replicas"`
		Status       reconcile.Progress
		Conditions   []struct {
			Type, Status, Reason string
			LastUpdate           *float64 `json:"lastUpdateTime"`
			LastTransition       *float64 `json:"lastTransitionTime"`
		}
		AllRSs []rsRow `json:"all_rss"`
		NewRS  *rsRow  `json:"new_rs"`
		Expect *struct {
			Status, Reason string
			LastUpdate     string `json:"last_update_time"`
			LastTransition string `json:"last_transition_time"`
		} `json:"expect_progressing"`
	}
	vectors(t, "sync_rollout_status", &rows)
	base := time.Date(2017, 2, 15, 18, 49, 0, 0, time.UTC)
	now := base.Add(24 * time.Hour)
	at := func(f *float64) time.Time {
		if f == nil {
			return time.Time{}
		}
		return base.Add(time.Duration(*f) * time.Second)
	}
	for _, r := range rows {
		d := &manifest.Deployment{Spec: manifest.DeploymentSpec{Replicas: &r.SpecReplicas, ProgressDeadlineSeconds: r.PDS}}
		d.Name = "foo"
		old := r.Status
		for _, c := range r.Conditions {
			old.Progressing = &reconcile.Condition{Type: c.Type, Status: c.Status, Reason: c.Reason, LastUpdateTime: at(c.LastUpdate), LastTransitionTime: at(c.LastTransition)}
		}
		var cur reconcile.Progress
		all := r.AllRSs
		newName := ""
		if r.NewRS != nil {
			all = append(all, *r.NewRS)
			cur.Updated = r.NewRS.StatusReplicas
			newName = r.NewRS.Name
		}
		for _, rs := range all {
			cur.Replicas += rs.StatusReplicas
			cur.Ready += rs.Ready
			cur.Available += rs.Available
		}
		got := SyncRolloutStatus(d, old, cur, newName, now)
		if r.Expect == nil {
			if got != nil {
				t.Errorf("%s: condition %+v, want none", r.Name, got)
			}
			continue
		}
		if got == nil {
			t.Errorf("%s: no condition, want %+v", r.Name, r.Expect)
			continue
		}
		check := func(what string, got time.Time, want string, unchanged time.Time) {
			if want == "now" && !got.Equal(now) || want == "unchanged" && !got.Equal(unchanged) {
				t.Errorf("%s: %s = %v, want %s", r.Name, what, got, want)
			}
		}
		if got.Status != r.Expect.Status || got.Reason != r.Expect.Reason {
			t.Errorf("%s: %s/%s, want %s/%s", r.Name, got.Status, got.Reason, r.Expect.Status, r.Expect.Reason)
		}
		var oldUpdate, oldTransition time.Time
		if old.Progressing != nil {
			oldUpdate, oldTransition = old.Progressing.LastUpdateTime, old.Progressing.LastTransitionTime
		}
		check("lastUpdateTime", got.LastUpdateTime, r.Expect.LastUpdate, oldUpdate)
		check("lastTransitionTime", got.LastTransitionTime, r.Expect.LastTransition, oldTransition)
	}
}

func TestRolloutStatusMessages(t *testing.T) {
	var rows []struct {
		Input struct {
			Name                         string
			Generation, ObservedGen      int64
			SpecReplicas                 int `json:"spec_replicas"`
			Replicas, Updated, Available int
			ProgressingReason            string `json:"progressing_reason"`
		}
		Kind    string `json:"expect_kind"`
		Message string `json:"expect_message"`
	}
	vectors(t, "rollout_status", &rows)
	for _, r := range rows {
		in := r.Input
		if in.Generation > in.ObservedGen {
			continue // kgit observes every spec at once: there is no unobserved generation
		}
		st := reconcile.Progress{Replicas: in.Replicas, Updated: in.Updated, Available: in.Available}
		if in.ProgressingReason != "" {
			st.Progressing = &reconcile.Condition{Reason: in.ProgressingReason}
		}
		msg, done, failed := reconcile.RolloutStatus(in.Name, in.SpecReplicas, st)
		kind := map[bool]string{true: "done", false: "wait"}[done]
		if failed {
			kind = "error"
		}
		if msg != r.Message || kind != r.Kind {
			t.Errorf("%+v: %s %q, want %s %q", in, kind, msg, r.Kind, r.Message)
		}
	}
}

func TestOldPodsRunning(t *testing.T) {
	var rows []struct {
		Name     string
		Replicas []int               `json:"old_rss_status_replicas"`
		Phases   map[string][]string `json:"pod_phases_by_rs_uid"`
		Expect   bool
	}
	vectors(t, "old_pods_running", &rows)
	for _, r := range rows {
		var phases [][]string
		for _, p := range r.Phases {
			phases = append(phases, p)
		}
		if got := OldPodsRunning(r.Replicas, phases); got != r.Expect {
			t.Errorf("%s: %v, want %v", r.Name, got, r.Expect)
		}
	}
}

func TestRevisionHistoryAnnotation(t *testing.T) {
	var v struct {
		Limit int `json:"rev_history_limit_in_chars"`
		Steps []struct {
			New      string  `json:"new_revision"`
			Revision string  `json:"expect_revision"`
			History  *string `json:"expect_revision_history"`
		}
	}
	vectors(t, "revision_history_annotation", &v)
	ann := map[string]string{}
	for _, s := range v.Steps {
		SetRevision(ann, s.New, v.Limit)
		hist, has := ann[RevisionHistoryAnnotation]
		if ann[RevisionAnnotation] != s.Revision || (s.History == nil) == has || s.History != nil && hist != *s.History {
			t.Errorf("after %s: revision %q history %q (set %v), want %q %v", s.New, ann[RevisionAnnotation], hist, has, s.Revision, s.History)
		}
	}
}

func TestRollbackTarget(t *testing.T) {
	var rows []struct {
		Revisions []int `json:"rs_revisions"`
		To        int   `json:"to_revision"`
		Expect    json.RawMessage
	}
	vectors(t, "rollback_target", &rows)
	for _, r := range rows {
		got, err := reconcile.RollbackTarget(r.Revisions, r.To)
		var want int
		if json.Unmarshal(r.Expect, &want) == nil {
			if err != nil || got != want {
				t.Errorf("%v to %d: %d, %v; want %d", r.Revisions, r.To, got, err, want)
			}
			continue
		}
		var msg string
		_ = json.Unmarshal(r.Expect, &msg)
		if err == nil || !strings.HasPrefix(msg, "error: "+err.Error()) {
			t.Errorf("%v to %d: %d, %v; want %s", r.Revisions, r.To, got, err, msg)
		}
	}
}

func TestReplicasAnnotationsNeedUpdate(t *testing.T) {
	var rows []struct {
		Name        string
		Annotations map[string]string
		Desired     int
		Max         int
		Expect      bool
	}
	vectors(t, "replicas_annotations_need_update", &rows)
	for _, r := range rows {
		if got := ReplicasAnnotationsNeedUpdate(r.Annotations, r.Desired, r.Max); got != r.Expect {
			t.Errorf("%s: %v, want %v", r.Name, got, r.Expect)
		}
	}
}

func TestFlowcontrolBackoffSlow(t *testing.T) {
	var v struct {
		Initial float64   `json:"initial_s"`
		Max     float64   `json:"max_s"`
		Expect  []float64 `json:"expect_get_before_each_next_s"`
	}
	vectors(t, "flowcontrol_backoff_slow", &v)
	b := &process.Backoff{Initial: time.Duration(v.Initial) * time.Second, Max: time.Duration(v.Max) * time.Second}
	at := time.Unix(0, 0) // no time passes: each restart waits the full current back-off
	for i, want := range v.Expect {
		if got := b.Next(at); got != time.Duration(want)*time.Second {
			t.Errorf("step %d: %s, want %vs", i, got, want)
		}
	}
}
