"""Region-true prices and offerings (issue 11): components/gpu/prices.py, its generated data, the script that
generates it, and the config rule that keeps a pool to what EC2 sells in the stack's region.

Expected prices are typed in: us-east-1 from the research notes (nvidia.md 3.2, Karpenter's pricing file),
GovCloud from reading Karpenter v1.14.1 pkg/providers/pricing/zz_generated.pricing_aws_us_gov.go by eye. The whole
generated table (every region, every catalog type, every absence) is also compared with a second reading of the
upstream files that shares no code with tools/regen_prices.py (tests/support/karpenter_pricing.py), so a generator
bug cannot regenerate itself past these tests (issue 21, item 4).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from components import versions
from components.gpu import catalog, prices, prices_data
from tests.support import karpenter_pricing
from tests.support.config_types import ENDPOINT
from tests.support.stacks import config_error, parse
from tools import regen_prices

# nvidia.md 3.2 (us-east-1 on-demand $/h); the same numbers are in Karpenter v1.14.1's file.
RESEARCH_US_EAST_1 = {
    "g4dn.xlarge": 0.526,
    "g4dn.metal": 7.824,
    "g5.xlarge": 1.006,
    "g5.48xlarge": 16.288,
    "g5g.xlarge": 0.42,
    "g6.xlarge": 0.8048,
    "g6.48xlarge": 13.3504,
    "g6e.xlarge": 1.861,
    "g6e.48xlarge": 30.13118,
    "p4d.24xlarge": 21.957642,
    "p4de.24xlarge": 27.44705,
    "p5.4xlarge": 6.88,
    "p5.48xlarge": 55.04,
    "p5en.48xlarge": 63.296,
    "p6-b200.48xlarge": 113.9328,
}


# -- the data ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instance_type", sorted(RESEARCH_US_EAST_1))
def test_us_east_1_prices_match_the_research_table(instance_type):
    assert prices.on_demand_usd_per_hour("us-east-1", instance_type) == RESEARCH_US_EAST_1[instance_type]


def test_govcloud_has_its_own_prices():
    assert prices.on_demand_usd_per_hour("us-gov-west-1", "g4dn.xlarge") == 0.663
    assert prices.on_demand_usd_per_hour("us-gov-west-1", "p5.48xlarge") == 66.048


# Read by eye on 2026-12-06 from https://github.com/aws/karpenter-provider-aws/blob/v1.14.1/pkg/providers/pricing/
# zz_generated.pricing_aws_us_gov.go ("generated at 2026-06-15T15:14:03Z"); None: the region's block has no such type.
GOVCLOUD_BY_EYE = {
    "us-gov-east-1": {
        "g4dn.xlarge": 0.663,  # "g4dn.xlarge": 0.663000
        "g4dn.12xlarge": 4.931,  # "g4dn.12xlarge": 4.931000
        "g4dn.metal": None,  # the g4dn line stops at g4dn.8xlarge, g4dn.xlarge
        "g6.xlarge": 1.0144,  # "g6.xlarge": 1.014400
        "g6.48xlarge": 16.82734,  # "g6.48xlarge": 16.827340
        "g5.xlarge": None,
        "p5.48xlarge": None,
    },
    "us-gov-west-1": {
        "g4dn.metal": 9.862,  # "g4dn.metal": 9.862000
        "g6.16xlarge": 4.28145,  # "g6.16xlarge": 4.281450
        "p4d.24xlarge": 26.3511,  # "p4d.24xlarge": 26.351100
        "p5.4xlarge": 8.256,  # "p5.4xlarge": 8.256000
        "p5en.48xlarge": 75.9552,  # "p5en.48xlarge": 75.955200
        "g5.xlarge": None,
        "g6e.xlarge": None,
    },
}


@pytest.mark.parametrize("region", sorted(GOVCLOUD_BY_EYE))
def test_govcloud_prices_and_gaps_match_the_upstream_file_read_by_eye(region):
    expected = GOVCLOUD_BY_EYE[region]
    assert {t: prices.on_demand_usd_per_hour(region, t) for t in expected} == expected


# sha256 of the two upstream files at v1.14.1 (tests/data/karpenter-pricing/SOURCE.txt, computed when copied).
UPSTREAM_SHA256 = {
    "zz_generated.pricing_aws.go": "b21ecff198deb4484882fdf01b06352a964281772d08b9633a7bb8ba984da421",
    "zz_generated.pricing_aws_us_gov.go": "a99978a3712df62f7eae5e51eb98297c97974452cd4f2da39380ba758dc8ffa5",
}


def test_the_test_data_files_are_the_upstream_bytes():
    digests = {name: hashlib.sha256((PRICING_DATA / name).read_bytes()).hexdigest() for name in UPSTREAM_SHA256}
    assert digests == UPSTREAM_SHA256


def test_every_price_and_every_gap_matches_an_independent_reading_of_the_upstream_files():
    """Each region's catalog types, with their prices, as a Go-literal reading (not the generator's) finds them;
    a type missing here but present upstream, or the reverse, or any other number, fails."""
    independent: dict[str, dict[str, float]] = {}
    for name in UPSTREAM_SHA256:
        for region, table in karpenter_pricing.on_demand_prices((PRICING_DATA / name).read_text()).items():
            independent[region] = {t: p for t, p in table.items() if t in catalog.INSTANCE_TYPES}
    assert independent == prices_data.ON_DEMAND_USD_PER_HOUR


def test_the_independent_reading_reads_karpenters_file_format():
    # The oracle can fail: the hand-written file below (GO_FILE) read without the generator.
    assert karpenter_pricing.on_demand_prices(GO_FILE) == {
        "us-east-1": {"g5.12xlarge": 5.672, "g5.xlarge": 1.006, "m7g.large": 0.0816},
        "eu-west-9": {"g5.xlarge": 2.0},
    }


def test_the_data_covers_the_regions_karpenter_generates_and_no_other():
    # v1.14.1 hack/code/prices_gen/main.go getAWSRegions: "aws" -> us-east-1; "aws-us-gov" -> both GovCloud
    # regions (the China file is CNY and not read).
    assert prices.REGIONS == ("us-east-1", "us-gov-east-1", "us-gov-west-1")
    assert not prices.covers("us-west-2") and not prices.covers("ap-northeast-1")


def test_types_ec2_does_not_sell_in_a_covered_region_are_named():
    assert prices.not_offered("us-east-1", ["g6.xlarge", "p5e.48xlarge"]) == ["p5e.48xlarge"]
    assert "g5.xlarge" in prices.not_offered("us-gov-west-1", ["g5.xlarge", "g6.xlarge"])


def test_a_region_outside_the_data_has_no_price_and_no_offering_check():
    assert prices.on_demand_usd_per_hour("ap-northeast-1", "g5.xlarge") is None
    assert prices.not_offered("ap-northeast-1", ["p5e.48xlarge"]) == []


def test_the_data_was_generated_for_exactly_the_catalogs_types():
    assert list(prices_data.INSTANCE_TYPES) == sorted(catalog.INSTANCE_TYPES)
    for region, table in prices_data.ON_DEMAND_USD_PER_HOUR.items():
        assert set(table) <= set(catalog.INSTANCE_TYPES), region
        assert all(price > 0 for price in table.values()), region


def test_the_data_comes_from_the_pinned_karpenter_release():
    assert f"v{versions.DEFAULT_KARPENTER_VERSION}" == prices_data.SOURCE_TAG
    assert prices_data.SOURCE_COMMIT == "bde00654cd316fddb3dccfba3f5ac07039865429"  # v1.14.1 (shared/upstream)
    assert prices_data.SOURCE_GENERATED_AT == {
        "zz_generated.pricing_aws.go": "2026-07-06T14:20:29Z",
        "zz_generated.pricing_aws_us_gov.go": "2026-06-15T15:14:03Z",
    }
    assert prices.snapshot_date("us-east-1") == "2026-07-06"


# -- the regeneration script ------------------------------------------------------------------------------------

# The shape Karpenter's generator writes (gofmt: one tab per level, one family comment per group).
GO_FILE = """//go:build !ignore_autogenerated

package pricing

// generated at 2026-01-02T03:04:05Z for us-east-1

import ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

var InitialOnDemandPricesAWS = map[string]map[ec2types.InstanceType]float64{
\t// us-east-1
\t"us-east-1": {
\t\t// g5 family
\t\t"g5.12xlarge": 5.672000, "g5.xlarge": 1.006000,
\t\t// m7g family
\t\t"m7g.large": 0.081600,
\t},
\t// eu-west-9
\t"eu-west-9": {
\t\t"g5.xlarge": 2.000000,
\t},
}
"""


def test_the_script_reads_every_region_of_karpenters_file_format():
    parsed = regen_prices.parse_pricing_file("zz.go", GO_FILE)
    assert parsed.generated_at == "2026-01-02T03:04:05Z"
    assert parsed.prices == {
        "us-east-1": {"g5.12xlarge": 5.672, "g5.xlarge": 1.006, "m7g.large": 0.0816},
        "eu-west-9": {"g5.xlarge": 2.0},
    }


def test_the_script_keeps_only_the_catalog_types_and_writes_an_importable_module():
    parsed = regen_prices.parse_pricing_file("zz.go", GO_FILE)
    source = regen_prices.render_module([parsed], ["g5.xlarge", "g5.12xlarge"], "v9.9.9", "a" * 40)
    namespace: dict[str, object] = {}
    exec(compile(source, "prices_data", "exec"), namespace)
    assert namespace["ON_DEMAND_USD_PER_HOUR"] == {
        "eu-west-9": {"g5.xlarge": 2.0},
        "us-east-1": {"g5.12xlarge": 5.672, "g5.xlarge": 1.006},
    }
    assert namespace["REGION_FILES"] == {"eu-west-9": "zz.go", "us-east-1": "zz.go"}
    assert namespace["SOURCE_TAG"] == "v9.9.9"


def test_the_script_refuses_a_file_that_is_not_karpenters_pricing_data():
    with pytest.raises(ValueError, match="generated at"):
        regen_prices.parse_pricing_file("x.go", "package pricing\n")
    with pytest.raises(ValueError, match="no region block"):
        regen_prices.parse_pricing_file("x.go", "// generated at 2026-01-01T00:00:00Z for us-east-1\n")


PRICING_DATA = Path(__file__).resolve().parents[1] / "data" / "karpenter-pricing"


def test_the_committed_module_is_what_the_script_makes_from_the_upstream_files():
    """Karpenter v1.14.1's two pricing files, byte for byte, are test data in tests/data/karpenter-pricing
    (SOURCE.txt there names repository, tag, commit and hashes)."""
    folder = PRICING_DATA
    files = [regen_prices.parse_pricing_file(name, (folder / name).read_text()) for name in regen_prices.SOURCE_FILES]
    assert {f.name: f.sha256 for f in files} == prices_data.SOURCE_SHA256
    expected = regen_prices.render_module(
        files, catalog.INSTANCE_TYPES, prices_data.SOURCE_TAG, prices_data.SOURCE_COMMIT
    )
    assert (regen_prices.DEFAULT_OUT).read_text() == expected


# -- the config keeps a pool to its region ----------------------------------------------------------------------


def test_a_named_type_ec2_does_not_sell_in_the_region_is_rejected_naming_it_and_the_region():
    error = config_error(
        {"gpuNodePools": [{"name": "h200", "instanceTypes": ["p5e.48xlarge"], "maxGpus": 8}], "endpoint": ENDPOINT},
        region="us-east-1",
    )
    assert str(error) == (
        "test: gpu-eks:gpuNodePools[0] (h200).instanceTypes: p5e.48xlarge is not offered in us-east-1 (no "
        "on-demand price there in Karpenter v1.14.1's pricing data of 2026-07-06); allowed: catalog types EC2 sells "
        "in us-east-1 (families g4dn, g5, g5g, g6, g6e, p4d, p4de, p5, p5en, p6-b200)"
    )


def test_a_family_with_no_size_in_the_region_is_rejected():
    error = config_error(
        {"gpuNodePools": [{"name": "l40s", "instanceFamilies": ["g6", "g6e"], "maxGpus": 8}], "endpoint": ENDPOINT},
        region="us-gov-west-1",
    )
    assert error.key == "gpuNodePools[0] (l40s).instanceFamilies"
    assert error.problem.startswith("no size of g6e is offered in us-gov-west-1")


def test_a_family_narrowed_away_by_gpu_names_is_not_blamed():
    # g5 (A10G) is not sold in us-gov-west-1; g6 is, but gpuNames keeps only A10G.
    error = config_error(
        {
            "gpuNodePools": [{"name": "a10g", "instanceFamilies": ["g5", "g6"], "gpuNames": ["a10g"], "maxGpus": 8}],
            "endpoint": ENDPOINT,
        },
        region="us-gov-west-1",
    )
    assert error.problem.startswith("no size of g5 is offered in us-gov-west-1")


def test_sizes_a_region_lacks_are_left_out_of_the_pool():
    # us-gov-east-1 sells every g4dn size but the metal one.
    pool = parse(
        {"gpuNodePools": [{"name": "t4", "instanceFamilies": ["g4dn"], "maxGpus": 8}], "endpoint": ENDPOINT},
        region="us-gov-east-1",
    ).gpu_node_pools[0]
    assert "g4dn.metal" not in pool.instance_types
    assert len(pool.instance_types) == 6


def test_a_region_outside_the_data_keeps_every_selected_type():
    pool = parse(
        {"gpuNodePools": [{"name": "h200", "instanceTypes": ["p5e.48xlarge"], "maxGpus": 8}], "endpoint": ENDPOINT},
        region="ap-northeast-1",
    ).gpu_node_pools[0]
    assert pool.instance_types == ("p5e.48xlarge",)


# -- the rendered contract --------------------------------------------------------------------------------------


def test_a_stack_outside_the_data_shows_no_other_regions_price(stack_or_variant_run):
    # tests/support/stack_variants.py "tokyo" (ap-northeast-1).
    pools = stack_or_variant_run("tokyo").outputs["gpuPools"]
    for name, contract in pools.items():
        assert set(contract["usdPerSliceHour"].values()) == {None}, name
        assert contract["priceSource"].startswith("none for ap-northeast-1: "), name


def test_prod_prices_are_us_east_1_and_name_the_region(stack_run):
    contract = stack_run("prod").outputs["gpuPools"]["training"]
    assert contract["usdPerSliceHour"] == {"p5.4xlarge": 6.88, "p5.48xlarge": 6.88}  # 6.88/1, 55.04/8
    assert contract["priceSource"] == (
        "on-demand us-east-1, Karpenter v1.14.1 pricing snapshot 2026-07-06 (not an AWS quote)"
    )
