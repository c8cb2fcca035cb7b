package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	"sigs.k8s.io/karpenter/pkg/apis/v1alpha1"

	awsv1 "github.com/aws/karpenter-provider-aws/pkg/apis/v1"
)

// Input is what the Python wrapper (preflight/karpenter/judge.py) writes.
type Input struct {
	Region string `json:"region"`
	// Zones of the stack's subnets: the EC2NodeClasses' status.subnets as the subnet controller would fill them.
	Zones []Zone `json:"zones"`
	// Karpenter's feature gates as the chart sets them ("NodeOverlay=true,...").
	FeatureGates string `json:"featureGates"`
	// A DescribeInstanceTypes response ({"InstanceTypes": [...]}), preflight/karpenter/data/instance-types.json.
	InstanceTypesFile string `json:"instanceTypesFile"`
	// Placement groups the stack creates (EC2 DescribePlacementGroups answers with these).
	PlacementGroups []PlacementGroup  `json:"placementGroups"`
	NodePools       []json.RawMessage `json:"nodePools"`
	NodeClasses     []json.RawMessage `json:"nodeClasses"`
	NodeOverlays    []json.RawMessage `json:"nodeOverlays"`
	DaemonSets      []json.RawMessage `json:"daemonSets"`
	Scenarios       []Scenario        `json:"scenarios"`
}

type Zone struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

type PlacementGroup struct {
	Name     string `json:"name"`
	Strategy string `json:"strategy"`
}

// Scenario is one scheduling decision: these pods pending at once, nothing else in the cluster.
type Scenario struct {
	Name string            `json:"name"`
	Pods []json.RawMessage `json:"pods"`
}

func decodeObjects[T client.Object](raw []json.RawMessage, make func() T) ([]T, error) {
	var out []T
	for _, item := range raw {
		obj := make()
		if err := json.Unmarshal(item, obj); err != nil {
			return nil, fmt.Errorf("decoding %T, %w", obj, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

type objects struct {
	nodePools   []*karpv1.NodePool
	nodeClasses []*awsv1.EC2NodeClass
	overlays    []*v1alpha1.NodeOverlay
	daemonSets  []*appsv1.DaemonSet
}

func decodeInput(input *Input) (*objects, error) {
	var err error
	out := &objects{}
	if out.nodePools, err = decodeObjects(input.NodePools, func() *karpv1.NodePool { return &karpv1.NodePool{} }); err != nil {
		return nil, err
	}
	if out.nodeClasses, err = decodeObjects(input.NodeClasses, func() *awsv1.EC2NodeClass { return &awsv1.EC2NodeClass{} }); err != nil {
		return nil, err
	}
	if out.overlays, err = decodeObjects(input.NodeOverlays, func() *v1alpha1.NodeOverlay { return &v1alpha1.NodeOverlay{} }); err != nil {
		return nil, err
	}
	if out.daemonSets, err = decodeObjects(input.DaemonSets, func() *appsv1.DaemonSet { return &appsv1.DaemonSet{} }); err != nil {
		return nil, err
	}
	return out, nil
}

func decodePendingPods(scenario Scenario) ([]*corev1.Pod, error) {
	return decodeObjects(scenario.Pods, func() *corev1.Pod { return &corev1.Pod{} })
}

// readInstanceTypes reads a DescribeInstanceTypes response: the SDK's structs have no JSON tags, so the field names
// are the API's own (InstanceType, VCpuInfo.DefaultVCpus, ...), as `aws ec2 describe-instance-types` prints them.
func readInstanceTypes(path string) (*ec2.DescribeInstanceTypesOutput, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading instance types, %w", err)
	}
	out := &ec2.DescribeInstanceTypesOutput{}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("decoding instance types %s, %w", path, err)
	}
	if len(out.InstanceTypes) == 0 {
		return nil, fmt.Errorf("%s lists no instance types", path)
	}
	return out, nil
}

// moduleVersion is the version of a dependency this binary was built with (go.mod pins it).
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == path {
			return dep.Version
		}
	}
	return "unknown"
}
