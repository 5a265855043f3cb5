// Package kubernetes holds portlab's Kubernetes manifests; its test
// decodes each one strictly into the API types, so a misspelt field fails
// `make test` instead of being dropped by the cluster.
package kubernetes

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// cnpgCluster is the part of CloudNativePG's Cluster (postgresql.cnpg.io/v1)
// the manifest uses. The operator's Go module is large, so the test
// decodes into this minimal copy of its fields: a field the manifest
// gains must be added here, checked against the CRD reference, first.
type cnpgCluster struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1ObjectMeta  `json:"metadata"`
	Spec       cnpgClusterSpec   `json:"spec"`
	Status     map[string]string `json:"status,omitempty"`
}

type metav1ObjectMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

type cnpgClusterSpec struct {
	Instances int `json:"instances"`
	Storage   struct {
		Size         string `json:"size"`
		StorageClass string `json:"storageClass,omitempty"`
	} `json:"storage"`
	Bootstrap struct {
		InitDB struct {
			Database string `json:"database"`
			Owner    string `json:"owner"`
		} `json:"initdb"`
	} `json:"bootstrap"`
	Resources corev1.ResourceRequirements `json:"resources"`
}

// kustomization is the part of kustomize's Kustomization the directory
// uses.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// objects are the decoded manifests, by kind.
type objects struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	secrets     []corev1.Secret
	ingresses   []networkingv1.Ingress
	pdbs        []policyv1.PodDisruptionBudget
	hpas        []autoscalingv2.HorizontalPodAutoscaler
	clusters    []cnpgCluster
	kustomize   []kustomization
}

// decode reads one YAML document strictly into the type its apiVersion
// and kind name; an unknown field, a duplicate key or an unknown kind is
// an error.
func (o *objects) decode(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		return into(doc, &o.deployments)
	case "v1 Service":
		return into(doc, &o.services)
	case "v1 Secret":
		return into(doc, &o.secrets)
	case "networking.k8s.io/v1 Ingress":
		return into(doc, &o.ingresses)
	case "policy/v1 PodDisruptionBudget":
		return into(doc, &o.pdbs)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return into(doc, &o.hpas)
	case "postgresql.cnpg.io/v1 Cluster":
		return into(doc, &o.clusters)
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return into(doc, &o.kustomize)
	}
	return &unknownKind{head.APIVersion, head.Kind}
}

type unknownKind struct{ apiVersion, kind string }

func (e *unknownKind) Error() string { return "unknown kind " + e.apiVersion + " " + e.kind }

// into decodes as the API server does: case-sensitive field names (plain
// encoding/json would take "readOnlyRootFileSystem"), no unknown and no
// duplicate fields.
func into[T any](doc []byte, list *[]T) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var v T
	strict, err := kjson.UnmarshalStrict(j, &v)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return errors.Join(strict...)
	}
	*list = append(*list, v)
	return nil
}

// documents splits a file into its YAML documents.
func documents(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func load(t *testing.T) (objects, []string) {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var o objects
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(b) {
			if err := o.decode(doc); err != nil {
				t.Errorf("%s, document %d: %v", f, i+1, err)
			}
		}
	}
	return o, files
}

func TestManifestsDecodeStrictly(t *testing.T) {
	o, files := load(t)
	if len(o.kustomize) != 1 {
		t.Fatalf("%d kustomization.yaml, want 1", len(o.kustomize))
	}
	listed := slices.Sorted(slices.Values(append(o.kustomize[0].Resources, "kustomization.yaml")))
	if !slices.Equal(listed, files) {
		t.Errorf("kustomization lists %v; the directory has %v", listed, files)
	}
	if len(o.deployments) != 1 || len(o.services) != 2 || len(o.ingresses) != 1 || len(o.pdbs) != 1 || len(o.hpas) != 1 || len(o.clusters) != 1 || len(o.secrets) != 3 {
		t.Fatalf("decoded %d deployments, %d services, %d ingresses, %d PDBs, %d HPAs, %d clusters, %d secrets",
			len(o.deployments), len(o.services), len(o.ingresses), len(o.pdbs), len(o.hpas), len(o.clusters), len(o.secrets))
	}
}

// What the issue asks of the Deployment, and that the other objects point
// at what exists.
func TestDeploymentShape(t *testing.T) {
	o, _ := load(t)
	if len(o.deployments) != 1 {
		t.Fatal("no Deployment")
	}
	d := o.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Error("replicas: want 3")
	}
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod does not run as non-root")
	}
	c := pod.Containers[0]
	var trusted string
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the root filesystem is not read-only")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("probes: want /healthz (liveness) and /readyz (readiness)")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("resources: want a CPU request and a memory limit")
	}
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = true
	}
	for _, s := range o.services {
		for _, p := range s.Spec.Ports {
			if !ports[p.TargetPort.String()] {
				t.Errorf("Service %s targets port %q, which the container does not name", s.Name, p.TargetPort.String())
			}
		}
		if !matches(s.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("Service %s selects no pod of the Deployment", s.Name)
		}
	}
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "PORTLAB_") {
			t.Errorf("env %s is not a PORTLAB_ twin of a flag", e.Name)
		}
		if e.Name == "PORTLAB_TRUSTED_PROXIES" {
			trusted = e.Value
		}
	}
	// Behind the Ingress, the per-client limits need the real client.
	if trusted == "" {
		t.Error("PORTLAB_TRUSTED_PROXIES is not set: behind the Ingress every browser would be one client")
	}
	for _, n := range strings.Split(trusted, ",") {
		if _, err := netip.ParsePrefix(strings.TrimSpace(n)); err != nil && trusted != "" {
			t.Errorf("PORTLAB_TRUSTED_PROXIES: %v", err)
		}
	}
	if !matches(o.pdbs[0].Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Error("the PodDisruptionBudget selects no pod of the Deployment")
	}
	if h := o.hpas[0]; h.Spec.ScaleTargetRef.Name != d.Name || h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < *d.Spec.Replicas {
		t.Error("the HPA does not scale the Deployment from its replicas up")
	}
	secrets := map[string]bool{}
	for _, s := range o.secrets {
		secrets[s.Name] = true
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil && !secrets[v.Secret.SecretName] {
			t.Errorf("volume %s uses Secret %s, not in secrets.yaml", v.Name, v.Secret.SecretName)
		}
	}
}

func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

// A misspelt field fails: the check is strict, not lenient.
func TestTypoFails(t *testing.T) {
	b, err := os.ReadFile("deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, typo := range [][2]string{
		{"  replicas: 3", "  replica: 3"},
		{"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"},
	} {
		bad := bytes.Replace(b, []byte(typo[0]), []byte(typo[1]), 1)
		if bytes.Equal(bad, b) {
			t.Fatalf("deployment.yaml has no %q", typo[0])
		}
		var o objects
		if err := o.decode(bad); err == nil {
			t.Errorf("%q decoded without an error", typo[1])
		}
	}
	var o objects
	if err := o.decode([]byte("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {instance: 3}\n")); err == nil {
		t.Error("a misspelt CNPG field decoded without an error")
	}
}
