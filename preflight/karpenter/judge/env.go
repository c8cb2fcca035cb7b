package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/awslabs/operatorpkg/status"
	"github.com/patrickmn/go-cache"
	"github.com/samber/lo"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakecr "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	"sigs.k8s.io/karpenter/pkg/apis/v1alpha1"
	corecloudprovider "sigs.k8s.io/karpenter/pkg/cloudprovider"
	"sigs.k8s.io/karpenter/pkg/cloudprovider/metrics"
	"sigs.k8s.io/karpenter/pkg/cloudprovider/overlay"
	"sigs.k8s.io/karpenter/pkg/controllers/nodeoverlay"
	"sigs.k8s.io/karpenter/pkg/controllers/provisioning"
	"sigs.k8s.io/karpenter/pkg/controllers/state"
	"sigs.k8s.io/karpenter/pkg/events"
	"sigs.k8s.io/karpenter/pkg/operator/injection"
	coreoptions "sigs.k8s.io/karpenter/pkg/operator/options"

	awsv1 "github.com/aws/karpenter-provider-aws/pkg/apis/v1"
	awscache "github.com/aws/karpenter-provider-aws/pkg/cache"
	"github.com/aws/karpenter-provider-aws/pkg/cloudprovider"
	"github.com/aws/karpenter-provider-aws/pkg/fake"
	awsoptions "github.com/aws/karpenter-provider-aws/pkg/operator/options"
	"github.com/aws/karpenter-provider-aws/pkg/providers/arczonalshift"
	"github.com/aws/karpenter-provider-aws/pkg/providers/capacityreservation"
	"github.com/aws/karpenter-provider-aws/pkg/providers/instancetype"
	"github.com/aws/karpenter-provider-aws/pkg/providers/placementgroup"
	"github.com/aws/karpenter-provider-aws/pkg/providers/pricing"
	"github.com/aws/karpenter-provider-aws/pkg/providers/subnet"
)

type environment struct {
	// ctx carries the controller's options; every call into Karpenter uses it.
	ctx           context.Context
	client        client.Client
	cloudProvider corecloudprovider.CloudProvider
	cluster       *state.Cluster
	provisioner   *provisioning.Provisioner
	pricing       *pricing.DefaultProvider
	objects       *objects
}

// contextFor carries the controller's options as the Karpenter binary parses them from its flags and environment:
// defaults, plus the stack's feature gates. CapacityBuffer is left off: the judge passes the warm-slice pods as
// ordinary pending pods (built like pkg/state/virtualpods BuildVirtualPods) instead of running the buffer controller.
func contextFor(ctx context.Context, featureGates string) (context.Context, error) {
	core := &coreoptions.Options{}
	coreFlags := &coreoptions.FlagSet{FlagSet: newFlagSet("karpenter")}
	core.AddFlags(coreFlags)
	if err := core.Parse(coreFlags, "--feature-gates="+featureGates); err != nil {
		return nil, err
	}
	core.FeatureGates.CapacityBuffer = false
	aws := &awsoptions.Options{}
	awsFlags := &coreoptions.FlagSet{FlagSet: newFlagSet("aws")}
	aws.AddFlags(awsFlags)
	if err := aws.Parse(awsFlags, "--cluster-name=judge", "--cluster-endpoint=https://judge.invalid"); err != nil {
		return nil, err
	}
	ctx = coreoptions.ToContext(ctx, core)
	ctx = awsoptions.ToContext(ctx, aws)
	return injection.WithControllerName(ctx, "provisioner"), nil
}

func newFakeClient(objs *objects) client.Client {
	builder := fakecr.NewClientBuilder().WithScheme(scheme.Scheme).
		WithStatusSubresource(&karpv1.NodePool{}, &awsv1.EC2NodeClass{}, &v1alpha1.NodeOverlay{}, &karpv1.NodeClaim{}, &corev1.Pod{}).
		// The field indexes the controllers list by (sigs.k8s.io/karpenter pkg/test/environment.go).
		WithIndex(&corev1.Pod{}, "spec.nodeName", func(o client.Object) []string {
			return []string{o.(*corev1.Pod).Spec.NodeName}
		}).
		WithIndex(&corev1.Node{}, "spec.providerID", func(o client.Object) []string {
			return []string{o.(*corev1.Node).Spec.ProviderID}
		}).
		WithIndex(&karpv1.NodeClaim{}, "status.providerID", func(o client.Object) []string {
			return []string{o.(*karpv1.NodeClaim).Status.ProviderID}
		}).
		WithIndex(&karpv1.NodePool{}, "spec.template.spec.nodeClassRef.group", func(o client.Object) []string {
			return []string{o.(*karpv1.NodePool).Spec.Template.Spec.NodeClassRef.Group}
		}).
		WithIndex(&karpv1.NodePool{}, "spec.template.spec.nodeClassRef.kind", func(o client.Object) []string {
			return []string{o.(*karpv1.NodePool).Spec.Template.Spec.NodeClassRef.Kind}
		}).
		WithIndex(&karpv1.NodePool{}, "spec.template.spec.nodeClassRef.name", func(o client.Object) []string {
			return []string{o.(*karpv1.NodePool).Spec.Template.Spec.NodeClassRef.Name}
		})
	for _, o := range objs.nodePools {
		builder = builder.WithObjects(o)
	}
	for _, o := range objs.nodeClasses {
		builder = builder.WithObjects(o)
	}
	for _, o := range objs.overlays {
		builder = builder.WithObjects(o)
	}
	for _, o := range objs.daemonSets {
		builder = builder.WithObjects(o)
	}
	return builder.Build()
}

// markReady sets what the EC2NodeClass and NodePool controllers would after resolving everything: the subnets of
// every zone, an AMI per architecture, the security groups and instance profile, every readiness condition true.
// Capacity reservations are not resolved (no EC2 to ask), so reserved offerings never appear: a pool that allows
// reserved and on-demand is judged on its on-demand fallback.
func markReady(objs *objects, zones []Zone) {
	for _, nodeClass := range objs.nodeClasses {
		nodeClass.Status.Subnets = lo.Map(zones, func(z Zone, _ int) awsv1.Subnet {
			return awsv1.Subnet{ID: "subnet-" + z.ID, Zone: z.Name, ZoneID: z.ID}
		})
		nodeClass.Status.SecurityGroups = []awsv1.SecurityGroup{{ID: "sg-judge", Name: "judge"}}
		nodeClass.Status.InstanceProfile = "judge"
		nodeClass.Status.AMIs = familyAMIs()
		for _, condition := range []string{
			awsv1.ConditionTypeAMIsReady, awsv1.ConditionTypeSubnetsReady, awsv1.ConditionTypeSecurityGroupsReady,
			awsv1.ConditionTypeInstanceProfileReady, awsv1.ConditionTypeValidationSucceeded,
			awsv1.ConditionTypePlacementGroupReady, awsv1.ConditionTypeCapacityReservationsReady,
		} {
			nodeClass.StatusConditions().SetTrue(condition)
		}
	}
	for _, nodePool := range objs.nodePools {
		nodePool.StatusConditions().SetTrue(karpv1.ConditionTypeValidationSucceeded)
		nodePool.StatusConditions().SetTrue(karpv1.ConditionTypeNodeClassReady)
		nodePool.StatusConditions().SetTrue(status.ConditionReady)
	}
}

// familyAMIs: one AMI per architecture, as an alias resolves (the AMI IDs are placeholders; only the requirements
// matter to scheduling).
func familyAMIs() []awsv1.AMI {
	return lo.Map([]string{karpv1.ArchitectureAmd64, karpv1.ArchitectureArm64}, func(arch string, _ int) awsv1.AMI {
		return awsv1.AMI{
			ID:   "ami-judge-" + arch,
			Name: "judge-" + arch,
			Requirements: []corev1.NodeSelectorRequirement{
				{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: []string{arch}},
			},
		}
	})
}

func newEnvironment(ctx context.Context, input *Input) (*environment, error) {
	ctx, err := contextFor(ctx, input.FeatureGates)
	if err != nil {
		return nil, err
	}
	if v := coreoptions.FromContext(ctx); v.FeatureGates.ReservedCapacity {
		awsv1.CapacityReservationsEnabled = true // cmd/controller/main.go does the same
	}
	objs, err := decodeInput(input)
	if err != nil {
		return nil, err
	}
	markReady(objs, input.Zones)
	instanceTypes, err := readInstanceTypes(input.InstanceTypesFile)
	if err != nil {
		return nil, err
	}
	kubeClient := newFakeClient(objs)
	clk := clock.RealClock{}

	ec2api := fake.NewEC2API()
	ec2api.DescribeInstanceTypesOutput.Set(instanceTypes)
	// Every type is offered in every zone of the stack (EC2's per-zone offerings are not in the sources).
	ec2api.DescribeInstanceTypeOfferingsOutput.Set(&ec2.DescribeInstanceTypeOfferingsOutput{
		InstanceTypeOfferings: lo.FlatMap(instanceTypes.InstanceTypes, func(it ec2types.InstanceTypeInfo, _ int) []ec2types.InstanceTypeOffering {
			return lo.Map(input.Zones, func(z Zone, _ int) ec2types.InstanceTypeOffering {
				return ec2types.InstanceTypeOffering{InstanceType: it.InstanceType, Location: lo.ToPtr(z.Name), LocationType: ec2types.LocationTypeAvailabilityZone}
			})
		}),
	})
	ec2api.DescribePlacementGroupsOutput.Set(&ec2.DescribePlacementGroupsOutput{
		PlacementGroups: lo.Map(input.PlacementGroups, func(pg PlacementGroup, _ int) ec2types.PlacementGroup {
			return ec2types.PlacementGroup{
				GroupId: lo.ToPtr("pg-" + pg.Name), GroupName: lo.ToPtr(pg.Name), GroupArn: lo.ToPtr("arn:aws:ec2:" + input.Region + ":111122223333:placement-group/" + pg.Name),
				State: ec2types.PlacementGroupStateAvailable, Strategy: ec2types.PlacementStrategy(pg.Strategy),
			}
		}),
	})
	newCache := func(ttl time.Duration) *cache.Cache { return cache.New(ttl, awscache.DefaultCleanupInterval) }

	// Karpenter's static pricing snapshot for the region (us-east-1's when the region has none), spot = on-demand
	// until a spot price update: exactly what the controller starts from (pkg/providers/pricing/pricing.go Reset).
	pricingProvider := pricing.NewDefaultProvider(&fake.PricingAPI{}, ec2api, input.Region, false)
	subnetProvider := subnet.NewDefaultProvider(ec2api, newCache(awscache.DefaultTTL), newCache(awscache.AvailableIPAddressTTL))
	capacityReservationProvider := capacityreservation.NewProvider(ec2api, clk, newCache(awscache.DefaultTTL), newCache(24*time.Hour))
	placementGroupProvider := placementgroup.NewProvider(ec2api, newCache(awscache.DefaultTTL), newCache(awscache.PlacementGroupAvailabilityTTL))
	zonalShiftProvider := arczonalshift.NewProvider(fake.NewARCZonalShiftAPI(), clk, "")
	instanceTypesProvider := instancetype.NewDefaultProvider(
		newCache(awscache.DefaultTTL), newCache(awscache.DefaultTTL), newCache(awscache.DiscoveredCapacityCacheTTL),
		ec2api, subnetProvider, pricingProvider, capacityReservationProvider, placementGroupProvider,
		awscache.NewUnavailableOfferings(), instancetype.NewDefaultResolver(input.Region), zonalShiftProvider, kubeClient,
	)
	if err := instanceTypesProvider.UpdateInstanceTypes(ctx); err != nil {
		return nil, err
	}
	if err := instanceTypesProvider.UpdateInstanceTypeOfferings(ctx); err != nil {
		return nil, err
	}

	recorder := events.NewRecorder(&record.FakeRecorder{})
	store := nodeoverlay.NewInstanceTypeStore()
	awsCloudProvider := cloudprovider.New(instanceTypesProvider, nil, recorder, kubeClient, nil, nil,
		capacityReservationProvider, placementGroupProvider, store, lo.ToPtr(""))
	undecorated := metrics.Decorate(awsCloudProvider)
	cloudProvider := overlay.Decorate(undecorated, kubeClient, store)
	cluster := state.NewCluster(clk, kubeClient, cloudProvider)

	// The NodeOverlay controller evaluates every overlay against every pool's instance types once, then the
	// decorated cloud provider applies them (sigs.k8s.io/karpenter pkg/controllers/nodeoverlay/controller.go).
	if coreoptions.FromContext(ctx).FeatureGates.NodeOverlay {
		controller := nodeoverlay.NewController(clk, kubeClient, undecorated, store, cluster)
		if _, err := controller.Reconcile(ctx, reconcile.Request{}); err != nil {
			return nil, fmt.Errorf("reconciling nodeoverlays, %w", err)
		}
	}
	return &environment{
		ctx:           ctx,
		client:        kubeClient,
		cloudProvider: cloudProvider,
		cluster:       cluster,
		provisioner:   provisioning.NewProvisioner(kubeClient, recorder, cloudProvider, cluster, clk, nil, nil),
		pricing:       pricingProvider,
		objects:       objs,
	}, nil
}
