package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/samber/lo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	"sigs.k8s.io/karpenter/pkg/apis/v1alpha1"
	corecloudprovider "sigs.k8s.io/karpenter/pkg/cloudprovider"
	scheduler "sigs.k8s.io/karpenter/pkg/controllers/provisioning/scheduling"
	"sigs.k8s.io/karpenter/pkg/scheduling"
)

// Output is what the judge prints.
type Output struct {
	KarpenterVersion string                 `json:"karpenterVersion"`
	ProviderVersion  string                 `json:"providerVersion"`
	Overlays         map[string]OverlayView `json:"overlays"`
	Pools            map[string]PoolView    `json:"pools"`
	Scenarios        []ScenarioResult       `json:"scenarios"`
	Seconds          float64                `json:"seconds"`
}

type OverlayView struct {
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// PoolView is what Karpenter would launch for a pool: the instance types of its node class, after overlays, that its
// requirements allow and that have an available offering of an allowed capacity type.
type PoolView struct {
	Error         string                      `json:"error,omitempty"`
	InstanceTypes map[string]InstanceTypeView `json:"instanceTypes"`
}

type InstanceTypeView struct {
	Capacity    map[string]int64 `json:"capacity"`
	Allocatable map[string]int64 `json:"allocatable"`
	// Cheapest available offering per capacity type, USD per hour (Karpenter's own pricing).
	Prices map[string]float64 `json:"prices"`
}

type ScenarioResult struct {
	Name          string            `json:"name"`
	NodeClaims    []NodeClaimView   `json:"nodeClaims"`
	Unschedulable map[string]string `json:"unschedulable"`
	Seconds       float64           `json:"seconds"`
}

type NodeClaimView struct {
	Pool string `json:"pool"`
	// The instance types the NodeClaim allows, cheapest first (as the provisioner truncates them).
	InstanceTypes []string `json:"instanceTypes"`
	CapacityTypes []string `json:"capacityTypes"`
	// What the launch would be: the capacity type the AWS instance provider picks (reserved, else spot when allowed,
	// else on-demand) and the cheapest instance type with an available offering of it.
	Launch Launch   `json:"launch"`
	Pods   []string `json:"pods"`
}

type Launch struct {
	InstanceType string  `json:"instanceType"`
	CapacityType string  `json:"capacityType"`
	Price        float64 `json:"price"`
}

func newFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet(name, flag.ContinueOnError)
}

func (e *environment) overlayStatuses(ctx context.Context) map[string]OverlayView {
	out := map[string]OverlayView{}
	for _, o := range e.objects.overlays {
		latest := &v1alpha1.NodeOverlay{}
		if err := e.client.Get(ctx, client.ObjectKeyFromObject(o), latest); err != nil {
			out[o.Name] = OverlayView{Reason: "NotFound", Message: err.Error()}
			continue
		}
		condition := latest.StatusConditions().Get("Ready")
		if condition == nil {
			out[o.Name] = OverlayView{Reason: "NotEvaluated"}
			continue
		}
		out[o.Name] = OverlayView{Ready: condition.IsTrue(), Reason: condition.Reason, Message: condition.Message}
	}
	return out
}

func poolRequirements(np *karpv1.NodePool) scheduling.Requirements {
	requirements := scheduling.NewNodeSelectorRequirementsWithMinValues(np.Spec.Template.Spec.Requirements...)
	requirements.Add(scheduling.NewLabelRequirements(np.Spec.Template.Labels).Values()...)
	return requirements
}

func (e *environment) describePools(ctx context.Context) map[string]PoolView {
	out := map[string]PoolView{}
	for _, np := range e.objects.nodePools {
		its, err := e.cloudProvider.GetInstanceTypes(ctx, np)
		if err != nil {
			out[np.Name] = PoolView{Error: err.Error()}
			continue
		}
		view := PoolView{InstanceTypes: map[string]InstanceTypeView{}}
		requirements := poolRequirements(np)
		for _, it := range its {
			if it.Requirements.Intersects(requirements) != nil {
				continue
			}
			prices := map[string]float64{}
			for _, of := range it.Offerings.Available().Compatible(requirements) {
				ct := of.CapacityType()
				if p, ok := prices[ct]; !ok || of.Price < p {
					prices[ct] = of.Price
				}
			}
			if len(prices) == 0 {
				continue
			}
			view.InstanceTypes[it.Name] = InstanceTypeView{
				Capacity: quantities(it.Capacity), Allocatable: quantities(it.Allocatable()), Prices: prices,
			}
		}
		out[np.Name] = view
	}
	return out
}

func (e *environment) runScenario(ctx context.Context, scenario Scenario) (ScenarioResult, error) {
	started := time.Now()
	pods, err := decodePendingPods(scenario)
	if err != nil {
		return ScenarioResult{}, err
	}
	for i, pod := range pods {
		if pod.Namespace == "" {
			pod.Namespace = "default"
		}
		pod.UID = types.UID(fmt.Sprintf("%s-%d", scenario.Name, i))
		// Pending and marked unschedulable by kube-scheduler: what makes a pod provisionable to Karpenter.
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			LastTransitionTime: metav1.Now(),
		}}}
		if err := e.client.Create(ctx, pod); err != nil {
			return ScenarioResult{}, fmt.Errorf("creating pod %s, %w", pod.Name, err)
		}
	}
	defer func() {
		for _, pod := range pods {
			_ = e.client.Delete(ctx, pod)
		}
	}()
	results, err := e.provisioner.Schedule(ctx)
	if err != nil {
		return ScenarioResult{}, err
	}
	result := ScenarioResult{Name: scenario.Name, Unschedulable: map[string]string{}}
	for pod, podErr := range results.PodErrors {
		result.Unschedulable[pod.Name] = podErr.Error()
	}
	for _, nc := range results.NewNodeClaims {
		result.NodeClaims = append(result.NodeClaims, describeNodeClaim(nc))
	}
	sort.SliceStable(result.NodeClaims, func(i, j int) bool {
		return len(result.NodeClaims[i].Pods) > len(result.NodeClaims[j].Pods)
	})
	result.Seconds = time.Since(started).Seconds()
	return result, nil
}

func describeNodeClaim(nc *scheduler.NodeClaim) NodeClaimView {
	requirements := nc.Requirements
	ordered := nc.InstanceTypeOptions.OrderByPrice(requirements)
	capacityTypes := requirements.Get(karpv1.CapacityTypeLabelKey).Values()
	sort.Strings(capacityTypes)
	pods := lo.Map(nc.Pods, func(p *corev1.Pod, _ int) string { return p.Name })
	sort.Strings(pods)
	return NodeClaimView{
		Pool:          nc.NodePoolName,
		InstanceTypes: lo.Map(ordered, func(it *corecloudprovider.InstanceType, _ int) string { return it.Name }),
		CapacityTypes: capacityTypes,
		Launch:        launchChoice(ordered, requirements),
		Pods:          pods,
	}
}

// launchChoice follows aws/karpenter-provider-aws v1.14.1 pkg/providers/instance/instance.go getCapacityType:
// reserved when a reserved offering is available, else spot when the NodeClaim allows it and a spot offering is
// available, else on-demand; then the cheapest available compatible offering of that capacity type (EC2 Fleet's
// lowest-price strategy for on-demand; for spot it uses price-capacity-optimized, which may pick a pricier pool).
func launchChoice(its corecloudprovider.InstanceTypes, requirements scheduling.Requirements) Launch {
	for _, capacityType := range []string{karpv1.CapacityTypeReserved, karpv1.CapacityTypeSpot, karpv1.CapacityTypeOnDemand} {
		if !requirements.Get(karpv1.CapacityTypeLabelKey).Has(capacityType) {
			continue
		}
		best := Launch{}
		for _, it := range its {
			for _, of := range it.Offerings.Available().Compatible(requirements) {
				if of.CapacityType() != capacityType {
					continue
				}
				if best.InstanceType == "" || of.Price < best.Price {
					best = Launch{InstanceType: it.Name, CapacityType: capacityType, Price: of.Price}
				}
			}
		}
		if best.InstanceType != "" {
			return best
		}
	}
	return Launch{}
}
