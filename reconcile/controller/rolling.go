package controller

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"kgit.dev/kgit/manifest"
)

// Strategy is a Deployment's rollout strategy reduced to what the arithmetic needs.
type Strategy struct {
	Type           string // RollingUpdate or Recreate
	Replicas       int
	MaxSurge       *manifest.IntOrString
	MaxUnavailable *manifest.IntOrString
}

// StrategyOf reads a defaulted Deployment's strategy.
func StrategyOf(d *manifest.Deployment) Strategy {
	s := Strategy{Type: d.Spec.Strategy.Type, Replicas: int(*d.Spec.Replicas)}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		s.MaxSurge, s.MaxUnavailable = ru.MaxSurge, ru.MaxUnavailable
	}
	return s
}

// ScaleRS is a ReplicaSet as the Deployment controller's arithmetic sees it.
type ScaleRS struct {
	Name      string
	Replicas  int // spec.replicas
	Available int // status.availableReplicas
	Created   time.Time
	Desired   int // desired-replicas annotation; -1 when missing
	Max       int // max-replicas annotation; 0 when missing
}

// ResolveFenceposts turns maxSurge (rounded up) and maxUnavailable (rounded down) into
// numbers of pods; when both come out 0, unavailable becomes 1.
func ResolveFenceposts(maxSurge, maxUnavailable *manifest.IntOrString, desired int) (int, int, error) {
	zero := manifest.FromInt(0)
	if maxSurge == nil {
		maxSurge = &zero
	}
	if maxUnavailable == nil {
		maxUnavailable = &zero
	}
	surge, err := manifest.ScaledValue(maxSurge, desired, true)
	if err != nil {
		return 0, 0, err
	}
	unavailable, err := manifest.ScaledValue(maxUnavailable, desired, false)
	if err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable, nil
}

// MaxUnavailable is how many pods may be unavailable during a rolling update.
func MaxUnavailable(s Strategy) int {
	if s.Type != "RollingUpdate" || s.Replicas == 0 {
		return 0
	}
	_, u, _ := ResolveFenceposts(s.MaxSurge, s.MaxUnavailable, s.Replicas)
	return min(u, s.Replicas)
}

// MinAvailable is how many pods must stay available during a rolling update.
func MinAvailable(s Strategy) int {
	if s.Type != "RollingUpdate" {
		return 0
	}
	return s.Replicas - MaxUnavailable(s)
}

// MaxSurge is how many pods above the desired count a rolling update may run.
func MaxSurge(s Strategy) int {
	if s.Type != "RollingUpdate" {
		return 0
	}
	surge, _, _ := ResolveFenceposts(s.MaxSurge, s.MaxUnavailable, s.Replicas)
	return surge
}

// NewRSNewReplicas is how far the new ReplicaSet may be scaled up now.
func NewRSNewReplicas(s Strategy, all []ScaleRS, newRS ScaleRS) (int, error) {
	switch s.Type {
	case "RollingUpdate":
		surge, err := manifest.ScaledValue(s.MaxSurge, s.Replicas, true)
		if err != nil {
			return 0, err
		}
		current := sumReplicas(all)
		maxTotal := s.Replicas + surge
		if current >= maxTotal {
			return newRS.Replicas, nil
		}
		return newRS.Replicas + min(maxTotal-current, s.Replicas-newRS.Replicas), nil
	case "Recreate":
		return s.Replicas, nil
	}
	return 0, fmt.Errorf("deployment type %v isn't supported", s.Type)
}

func sumReplicas(rss []ScaleRS) int {
	n := 0
	for _, rs := range rss {
		n += rs.Replicas
	}
	return n
}

func sumAvailable(rss []ScaleRS) int {
	n := 0
	for _, rs := range rss {
		n += rs.Available
	}
	return n
}

// oldestFirst sorts ReplicaSets by creation time, then name.
func oldestFirst(rss []ScaleRS) {
	sort.SliceStable(rss, func(i, j int) bool {
		if !rss[i].Created.Equal(rss[j].Created) {
			return rss[i].Created.Before(rss[j].Created)
		}
		return rss[i].Name < rss[j].Name
	})
}

// ReconcileOld computes the old ReplicaSets' new sizes: unhealthy pods go first, then
// healthy ones as far as minAvailable allows. It returns the new sizes by name, and the
// counts scaled down in each phase.
func ReconcileOld(s Strategy, old []ScaleRS, newRS ScaleRS) (sizes map[string]int, cleaned, scaled int) {
	sizes = map[string]int{}
	if sumReplicas(old) == 0 {
		return sizes, 0, 0
	}
	all := append(append([]ScaleRS{}, old...), newRS)
	minAvailable := s.Replicas - MaxUnavailable(s)
	newUnavailable := newRS.Replicas - newRS.Available
	maxScaledDown := sumReplicas(all) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return sizes, 0, 0
	}
	old = append([]ScaleRS{}, old...)
	oldestFirst(old)
	old, cleaned = cleanupUnhealthy(old, maxScaledDown, sizes)
	scaled = scaleDownOld(s, append(append([]ScaleRS{}, old...), newRS), old, sizes)
	return sizes, cleaned, scaled
}

// cleanupUnhealthy scales old ReplicaSets down by their unavailable pods, oldest first.
// The returned copies have the new spec but the old status, as upstream's do.
func cleanupUnhealthy(old []ScaleRS, maxCleanup int, sizes map[string]int) ([]ScaleRS, int) {
	cleaned := 0
	for i, rs := range old {
		if cleaned >= maxCleanup {
			break
		}
		if rs.Replicas == 0 || rs.Replicas == rs.Available {
			continue
		}
		n := min(maxCleanup-cleaned, rs.Replicas-rs.Available)
		old[i].Replicas = rs.Replicas - n
		sizes[rs.Name] = old[i].Replicas
		cleaned += n
	}
	return old, cleaned
}

// scaleDownOld scales old ReplicaSets down, oldest first, by as many available pods as
// exceed minAvailable.
func scaleDownOld(s Strategy, all, old []ScaleRS, sizes map[string]int) int {
	minAvailable := s.Replicas - MaxUnavailable(s)
	available := sumAvailable(all)
	if available <= minAvailable {
		return 0
	}
	want, done := available-minAvailable, 0
	for _, rs := range old {
		if done >= want {
			break
		}
		if rs.Replicas == 0 {
			continue
		}
		n := min(rs.Replicas, want-done)
		sizes[rs.Name] = rs.Replicas - n
		done += n
	}
	return done
}

// Replica annotations on ReplicaSets, written whenever a Deployment scales one.
const (
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
)

// ReplicasAnnotationsNeedUpdate reports whether a ReplicaSet's desired-replicas or
// max-replicas annotation differs from the Deployment's current values.
func ReplicasAnnotationsNeedUpdate(ann map[string]string, desired, max int) bool {
	return ann[DesiredReplicasAnnotation] != strconv.Itoa(desired) || ann[MaxReplicasAnnotation] != strconv.Itoa(max)
}

// IsScalingEvent reports whether spec.replicas changed since the active ReplicaSets
// were last scaled (their desired-replicas annotation differs).
func IsScalingEvent(s Strategy, active []ScaleRS) bool {
	for _, rs := range active {
		if rs.Desired >= 0 && rs.Desired != s.Replicas {
			return true
		}
	}
	return false
}

// ProportionalScale is the Deployment controller's scale(): on a replicas change in the
// middle of a rollout it spreads the change over the active ReplicaSets in proportion to
// their size. newRS may be nil; statusReplicas stands in for a missing max-replicas
// annotation. It returns the new sizes by name.
func ProportionalScale(s Strategy, newRS *ScaleRS, old []ScaleRS, statusReplicas int) map[string]int {
	var active []ScaleRS
	if newRS != nil && newRS.Replicas > 0 {
		active = append(active, *newRS)
	}
	newestOld := append([]ScaleRS{}, old...)
	sort.SliceStable(newestOld, func(i, j int) bool { return newestOld[i].Created.After(newestOld[j].Created) })
	for _, rs := range newestOld {
		if rs.Replicas > 0 {
			active = append(active, rs)
		}
	}
	switch {
	case len(active) == 1:
		return map[string]int{active[0].Name: s.Replicas}
	case len(active) == 0 && newRS != nil:
		return map[string]int{newRS.Name: s.Replicas}
	case len(active) == 0 && len(newestOld) > 0:
		return map[string]int{newestOld[0].Name: s.Replicas}
	case len(active) == 0:
		return nil
	}
	sizes := map[string]int{}
	if newRS != nil && newRS.Replicas == s.Replicas && newRS.Desired == s.Replicas && newRS.Available == s.Replicas {
		for _, rs := range active[1:] { // saturated: the old ones go
			sizes[rs.Name] = 0
		}
		return sizes
	}
	if s.Type != "RollingUpdate" {
		return sizes
	}
	allowed := 0
	if s.Replicas > 0 {
		allowed = s.Replicas + MaxSurge(s)
	}
	toAdd := allowed - sumReplicas(active)
	if toAdd > 0 {
		sort.SliceStable(active, bySize(active, true))
	} else {
		sort.SliceStable(active, bySize(active, false))
	}
	added := 0
	for _, rs := range active {
		p := proportion(s, rs, toAdd, added, statusReplicas)
		sizes[rs.Name] = rs.Replicas + p
		added += p
	}
	if added != toAdd {
		first := active[0].Name
		sizes[first] = max(0, sizes[first]+toAdd-added)
	}
	return sizes
}

// bySize orders ReplicaSets largest first; ties go newer first (for scaling up) or
// older first (for scaling down), then by name.
func bySize(rss []ScaleRS, newer bool) func(i, j int) bool {
	return func(i, j int) bool {
		a, b := rss[i], rss[j]
		if a.Replicas != b.Replicas {
			return a.Replicas > b.Replicas
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created) == newer
		}
		return (a.Name > b.Name) == newer
	}
}

// proportion is GetProportion: this ReplicaSet's share of toAdd, bounded by what is
// left to add.
func proportion(s Strategy, rs ScaleRS, toAdd, added, statusReplicas int) int {
	if rs.Replicas == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	allowed := toAdd - added
	var fraction int
	if s.Replicas == 0 {
		fraction = -rs.Replicas
	} else {
		annotated := statusReplicas
		if rs.Max > 0 {
			annotated = rs.Max
		}
		size := float64(rs.Replicas*(s.Replicas+MaxSurge(s))) / float64(annotated)
		fraction = int(math.Round(size)) - rs.Replicas
	}
	if allowed > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}
