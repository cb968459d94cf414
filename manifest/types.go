// Package manifest holds kgit's Kubernetes-shaped object types, decodes them from
// YAML and JSON with file:line in every error, applies Kubernetes' defaults, validates
// them, and reads the manifest tree of a git repository at a commit.
//
// The types are kgit's own (not k8s.io/api): they carry every field kgit honours plus
// the valid Kubernetes fields a backend may not honour, so that strict decoding can tell
// a typo (an error) from a field kgit knows but cannot apply (a warning).
package manifest

import "encoding/json"

// TypeMeta is apiVersion and kind, spelled as Kubernetes spells them.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ObjectMeta is the subset of Kubernetes' metadata that a manifest may set.
type ObjectMeta struct {
	Name         string            `json:"name,omitempty"`
	GenerateName string            `json:"generateName,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// LabelSelector selects by labels; matchExpressions are accepted and evaluated.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one matchExpressions entry.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// PodTemplateSpec is a pod's metadata and spec inside a controller.
type PodTemplateSpec struct {
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec `json:"spec"`
}

// PodSpec is v1 PodSpec. Fields typed json.RawMessage are valid Kubernetes fields that
// kgit accepts but does not model; Unhonoured lists which of them a backend ignores.
type PodSpec struct {
	Containers                    []Container       `json:"containers"`
	InitContainers                []Container       `json:"initContainers,omitempty"`
	RestartPolicy                 string            `json:"restartPolicy,omitempty"`
	TerminationGracePeriodSeconds *int64            `json:"terminationGracePeriodSeconds,omitempty"`
	ActiveDeadlineSeconds         *int64            `json:"activeDeadlineSeconds,omitempty"`
	Hostname                      string            `json:"hostname,omitempty"`
	Subdomain                     string            `json:"subdomain,omitempty"`
	NodeName                      string            `json:"nodeName,omitempty"`
	NodeSelector                  map[string]string `json:"nodeSelector,omitempty"`
	ServiceAccountName            string            `json:"serviceAccountName,omitempty"`
	ServiceAccount                string            `json:"serviceAccount,omitempty"`
	AutomountServiceAccountToken  *bool             `json:"automountServiceAccountToken,omitempty"`
	HostNetwork                   bool              `json:"hostNetwork,omitempty"`
	HostPID                       bool              `json:"hostPID,omitempty"`
	HostIPC                       bool              `json:"hostIPC,omitempty"`
	ShareProcessNamespace         *bool             `json:"shareProcessNamespace,omitempty"`
	EnableServiceLinks            *bool             `json:"enableServiceLinks,omitempty"`
	PriorityClassName             string            `json:"priorityClassName,omitempty"`
	Priority                      *int32            `json:"priority,omitempty"`
	SchedulerName                 string            `json:"schedulerName,omitempty"`
	DNSPolicy                     string            `json:"dnsPolicy,omitempty"`
	RuntimeClassName              *string           `json:"runtimeClassName,omitempty"`
	PreemptionPolicy              *string           `json:"preemptionPolicy,omitempty"`
	Volumes                       []Volume          `json:"volumes,omitempty"`
	Affinity                      json.RawMessage   `json:"affinity,omitempty"`
	Tolerations                   json.RawMessage   `json:"tolerations,omitempty"`
	SecurityContext               json.RawMessage   `json:"securityContext,omitempty"`
	ImagePullSecrets              json.RawMessage   `json:"imagePullSecrets,omitempty"`
	HostAliases                   json.RawMessage   `json:"hostAliases,omitempty"`
	DNSConfig                     json.RawMessage   `json:"dnsConfig,omitempty"`
	TopologySpreadConstraints     json.RawMessage   `json:"topologySpreadConstraints,omitempty"`
	ReadinessGates                json.RawMessage   `json:"readinessGates,omitempty"`
	Overhead                      json.RawMessage   `json:"overhead,omitempty"`
	OS                            json.RawMessage   `json:"os,omitempty"`
	EphemeralContainers           json.RawMessage   `json:"ephemeralContainers,omitempty"`
}

// Container is v1 Container.
type Container struct {
	Name                     string          `json:"name"`
	Image                    string          `json:"image"`
	Command                  []string        `json:"command,omitempty"`
	Args                     []string        `json:"args,omitempty"`
	WorkingDir               string          `json:"workingDir,omitempty"`
	Ports                    []ContainerPort `json:"ports,omitempty"`
	Env                      []EnvVar        `json:"env,omitempty"`
	ImagePullPolicy          string          `json:"imagePullPolicy,omitempty"`
	ReadinessProbe           *Probe          `json:"readinessProbe,omitempty"`
	LivenessProbe            *Probe          `json:"livenessProbe,omitempty"`
	StartupProbe             *Probe          `json:"startupProbe,omitempty"`
	Resources                json.RawMessage `json:"resources,omitempty"`
	EnvFrom                  []EnvFromSource `json:"envFrom,omitempty"`
	VolumeMounts             []VolumeMount   `json:"volumeMounts,omitempty"`
	VolumeDevices            json.RawMessage `json:"volumeDevices,omitempty"`
	Lifecycle                *Lifecycle      `json:"lifecycle,omitempty"`
	SecurityContext          json.RawMessage `json:"securityContext,omitempty"`
	TerminationMessagePath   string          `json:"terminationMessagePath,omitempty"`
	TerminationMessagePolicy string          `json:"terminationMessagePolicy,omitempty"`
	ResizePolicy             json.RawMessage `json:"resizePolicy,omitempty"`
	RestartPolicy            *string         `json:"restartPolicy,omitempty"`
	Stdin                    bool            `json:"stdin,omitempty"`
	StdinOnce                bool            `json:"stdinOnce,omitempty"`
	TTY                      bool            `json:"tty,omitempty"`
}

// ContainerPort is v1 ContainerPort.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	HostPort      int32  `json:"hostPort,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// EnvVar is v1 EnvVar.
type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource is v1 EnvVarSource; resourceFieldRef is accepted and not honoured.
type EnvVarSource struct {
	FieldRef         *ObjectFieldSelector `json:"fieldRef,omitempty"`
	ResourceFieldRef json.RawMessage      `json:"resourceFieldRef,omitempty"`
	ConfigMapKeyRef  *KeySelector         `json:"configMapKeyRef,omitempty"`
	SecretKeyRef     *KeySelector         `json:"secretKeyRef,omitempty"`
}

// KeySelector names a key of a ConfigMap or Secret in the pod's namespace.
type KeySelector struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Optional *bool  `json:"optional,omitempty"`
}

// EnvFromSource imports every key of a ConfigMap or Secret as variables.
type EnvFromSource struct {
	Prefix       string     `json:"prefix,omitempty"`
	ConfigMapRef *SourceRef `json:"configMapRef,omitempty"`
	SecretRef    *SourceRef `json:"secretRef,omitempty"`
}

// SourceRef names a ConfigMap or Secret.
type SourceRef struct {
	Name     string `json:"name"`
	Optional *bool  `json:"optional,omitempty"`
}

// ObjectFieldSelector is the downward API's fieldRef.
type ObjectFieldSelector struct {
	APIVersion string `json:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath"`
}

// Probe is v1 Probe.
type Probe struct {
	Exec                          *ExecAction      `json:"exec,omitempty"`
	HTTPGet                       *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket                     *TCPSocketAction `json:"tcpSocket,omitempty"`
	GRPC                          *GRPCAction      `json:"grpc,omitempty"`
	InitialDelaySeconds           int32            `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds                int32            `json:"timeoutSeconds,omitempty"`
	PeriodSeconds                 int32            `json:"periodSeconds,omitempty"`
	SuccessThreshold              int32            `json:"successThreshold,omitempty"`
	FailureThreshold              int32            `json:"failureThreshold,omitempty"`
	TerminationGracePeriodSeconds *int64           `json:"terminationGracePeriodSeconds,omitempty"`
}

// ExecAction runs a command in the container.
type ExecAction struct {
	Command []string `json:"command,omitempty"`
}

// HTTPGetAction probes over HTTP.
type HTTPGetAction struct {
	Path        string       `json:"path,omitempty"`
	Port        IntOrString  `json:"port"`
	Host        string       `json:"host,omitempty"`
	Scheme      string       `json:"scheme,omitempty"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is one custom probe header.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocketAction probes by connecting.
type TCPSocketAction struct {
	Port IntOrString `json:"port"`
	Host string      `json:"host,omitempty"`
}

// GRPCAction probes with the gRPC health-checking protocol (grpc.health.v1.Health/Check).
type GRPCAction struct {
	Port    int32   `json:"port"`
	Service *string `json:"service,omitempty"`
}

// Lifecycle is v1 Lifecycle: the hooks run right after a container starts and before it
// is stopped.
type Lifecycle struct {
	PostStart *LifecycleHandler `json:"postStart,omitempty"`
	PreStop   *LifecycleHandler `json:"preStop,omitempty"`
	// StopSignal is accepted (Kubernetes 1.33+) and not honoured.
	StopSignal *string `json:"stopSignal,omitempty"`
}

// LifecycleHandler is v1 LifecycleHandler; tcpSocket is deprecated in Kubernetes, which
// accepts it and does nothing with it, as kgit does.
type LifecycleHandler struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
	Sleep     *SleepAction     `json:"sleep,omitempty"`
}

// SleepAction waits.
type SleepAction struct {
	Seconds int64 `json:"seconds"`
}
