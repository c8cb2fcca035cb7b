// Command judge runs Karpenter's own provisioning code offline over one stack's render.
//
// It reads JSON (a file named as the only argument, or stdin): NodePools, EC2NodeClasses, NodeOverlays, the
// DaemonSets that would run on Karpenter nodes, instance type facts in DescribeInstanceTypes shape, and scenarios of
// pending pods. It wires the AWS provider as aws/karpenter-provider-aws v1.14.1 cmd/controller/main.go does
// (cloudprovider.New -> metrics.Decorate -> overlay.Decorate), with the provider's fake EC2 and pricing APIs
// (pkg/fake) and controller-runtime's fake client in place of AWS and the API server, like the scheduling benchmark
// (sigs.k8s.io/karpenter pkg/controllers/provisioning/scheduling/scheduling_benchmark_test.go). It marks every
// NodePool and EC2NodeClass Ready as their controllers would, runs the NodeOverlay controller's Reconcile once, then
// Provisioner.Schedule once per scenario, and prints JSON: per pool the instance types Karpenter would consider (with
// capacity after overlays), per overlay its status, and per scenario the NodeClaims and the unschedulable pods with
// Karpenter's reason.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/samber/lo"
	corev1 "k8s.io/api/core/v1"

	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/karpenter/pkg/operator/logging"
)

func main() {
	log.SetLogger(logging.NopLogger)
	var reader io.Reader = os.Stdin
	if len(os.Args) > 1 && os.Args[1] != "-" {
		file, err := os.Open(os.Args[1])
		if err != nil {
			fail(err)
		}
		defer file.Close()
		reader = file
	}
	input := &Input{}
	if err := json.NewDecoder(reader).Decode(input); err != nil {
		fail(fmt.Errorf("reading input, %w", err))
	}
	output, err := run(context.Background(), input)
	if err != nil {
		fail(err)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", " ")
	lo.Must0(encoder.Encode(output))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "karpenter judge: %s\n", err)
	os.Exit(2)
}

func run(ctx context.Context, input *Input) (*Output, error) {
	started := time.Now()
	env, err := newEnvironment(ctx, input)
	if err != nil {
		return nil, err
	}
	ctx = env.ctx
	output := &Output{
		KarpenterVersion: moduleVersion("sigs.k8s.io/karpenter"),
		ProviderVersion:  moduleVersion("github.com/aws/karpenter-provider-aws"),
		Overlays:         env.overlayStatuses(ctx),
		Pools:            env.describePools(ctx),
	}
	for _, scenario := range input.Scenarios {
		result, err := env.runScenario(ctx, scenario)
		if err != nil {
			return nil, fmt.Errorf("scenario %q, %w", scenario.Name, err)
		}
		output.Scenarios = append(output.Scenarios, result)
	}
	output.Seconds = time.Since(started).Seconds()
	return output, nil
}

// quantities turns a resource list into integers: CPU in millicores, everything else in its base unit.
func quantities(list corev1.ResourceList) map[string]int64 {
	out := map[string]int64{}
	for name, quantity := range list {
		if name == corev1.ResourceCPU {
			out[string(name)] = quantity.MilliValue()
		} else {
			out[string(name)] = quantity.Value()
		}
	}
	return out
}
