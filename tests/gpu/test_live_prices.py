"""Region-true prices at deploy time (issue 20 item 6): on-demand from the AWS Price List API, spot from EC2's
spot price history, both as provider lookups that the model harness's mocks answer; renders keep the snapshot.

The mocks' prices are fixed stand-ins (preflight/model/harness.py: $1.00 per GPU-hour plus $0.01 per character of
the type's name, spot 40 % of that), so every expected figure below is worked out by hand.
"""

from __future__ import annotations

import json

import pytest

from components.common.lookups import lookups_enabled
from components.gpu import live_prices
from preflight.model import harness
from preflight.model.harness import GET_PRODUCT, GET_SPOT_PRICE, run_stack

ON_DEMAND_G6 = {
    "name": "inference",
    "instanceTypes": ["g6.xlarge", "g6.12xlarge"],
    "capacityTypes": ["on-demand"],
    "maxGpus": 8,
    "sharing": {"strategy": "time-slicing", "replicas": 4},
}


@pytest.fixture(scope="module")
def deployed_dev():
    """dev (us-west-2, where the snapshot has no prices) as a deploy runs it: prices read from AWS (the mocks)."""
    return run_stack("dev", lookups=True)


def test_a_deploy_reads_on_demand_prices_in_the_stacks_region(deployed_dev):
    contract = deployed_dev.outputs["gpuPools"]["inference"]
    # g6.xlarge: 1 GPU -> $1.00 + 9 × $0.01 = $1.09 per node-hour, 4 slices: $0.2725. g6.12xlarge: 4 GPUs + 11
    # characters -> $4.11, 16 slices: $0.256875 -> 0.2569. g5.48xlarge: 8 + 0.11 = $8.11 / 32 = 0.2534.
    assert contract["usdPerSliceHour"]["g6.xlarge"] == 0.2725
    assert contract["usdPerSliceHour"]["g6.12xlarge"] == 0.2569
    assert contract["usdPerSliceHour"]["g5.48xlarge"] == 0.2534
    assert None not in contract["usdPerSliceHour"].values()
    assert contract["priceSource"] == "on-demand us-west-2, AWS Price List API, read at deploy"


def test_a_spot_pool_also_gets_spot_prices_with_their_source(deployed_dev):
    contract = deployed_dev.outputs["gpuPools"]["inference"]  # dev's pool: spot and on-demand
    assert contract["spotUsdPerSliceHour"]["g6.xlarge"] == 0.109  # $1.09 × 0.4 / 4
    assert contract["spotPriceSource"] == (
        "spot us-west-2, EC2 spot price history (Linux/UNIX, most recent in any zone), read at deploy; a spot price "
        "changes hourly"
    )


def test_the_price_list_is_asked_in_us_east_1_for_the_stacks_region(deployed_dev):
    providers = [r for r in deployed_dev.resources if r.type == "pulumi:providers:aws"]
    (pricing,) = [p for p in providers if p.name.endswith("price-list")]
    assert pricing.inputs["region"] == "us-east-1"
    products = [(args, provider) for token, args, provider in deployed_dev.invoke_args if token == GET_PRODUCT]
    assert len(products) == 16  # one per type of dev's pool: g5 and g6, 8 sizes each
    args, provider = next(
        (a, p) for a, p in products if {"field": "instanceType", "value": "g6.xlarge"} in a["filters"]
    )
    assert provider is not None and "price-list" in provider
    assert args["serviceCode"] == "AmazonEC2"
    assert {f["field"]: f["value"] for f in args["filters"]} == {
        "instanceType": "g6.xlarge",
        "regionCode": "us-west-2",
        "preInstalledSw": "NA",
        "operatingSystem": "Linux",
        "capacitystatus": "Used",
        "marketoption": "OnDemand",
        "licenseModel": "No License required",
        "tenancy": "Shared",
        "productFamily": "Compute Instance",
    }
    spot = [args for token, args, _ in deployed_dev.invoke_args if token == GET_SPOT_PRICE]
    assert {a["instanceType"] for a in spot} == {f"{f}.{s}" for f in ("g5", "g6") for s in SIZES}
    assert all(a["filters"] == [{"name": "product-description", "values": ["Linux/UNIX"]}] for a in spot)


SIZES = ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge")


def test_an_on_demand_pool_asks_no_spot_price():
    run = run_stack("dev", overrides={"gpuNodePools": [ON_DEMAND_G6]}, lookups=True)
    contract = run.outputs["gpuPools"]["inference"]
    assert "spotUsdPerSliceHour" not in contract and "spotPriceSource" not in contract
    assert GET_SPOT_PRICE not in run.invokes
    assert sorted(t for t in run.invokes if t == GET_PRODUCT) == [GET_PRODUCT, GET_PRODUCT]


def test_a_type_without_an_answer_is_null_and_the_source_says_so(monkeypatch):
    answer = harness.price_lookup_answer

    def no_product_for_g6_xlarge(token, args):
        if token == GET_PRODUCT and {"field": "instanceType", "value": "g6.xlarge"} in args["filters"]:
            return {"id": "mock", "result": json.dumps({"terms": {"OnDemand": {}}})}
        return answer(token, args)

    monkeypatch.setattr(harness, "price_lookup_answer", no_product_for_g6_xlarge)
    run = run_stack("dev", overrides={"gpuNodePools": [ON_DEMAND_G6]}, lookups=True)
    contract = run.outputs["gpuPools"]["inference"]
    assert contract["usdPerSliceHour"] == {"g6.xlarge": None, "g6.12xlarge": 0.2569}
    assert contract["priceSource"] == (
        "on-demand us-west-2, AWS Price List API, read at deploy; null for g6.xlarge (no price found)"
    )


def test_an_offline_render_quotes_the_snapshot_and_makes_no_price_lookup():
    run = run_stack("dev")
    assert GET_PRODUCT not in run.invokes and GET_SPOT_PRICE not in run.invokes
    assert run.outputs["gpuPools"]["inference"]["priceSource"].startswith("none for us-west-2: Karpenter ")
    assert "spotUsdPerSliceHour" not in run.outputs["gpuPools"]["inference"]


# -- the pure readers --------------------------------------------------------------------------------------------

# The shape of a GetProducts answer (AWS Price List Query API reference, GetProducts response: PriceList entries),
# trimmed to what the reader uses; the figure is made up.
PRODUCT = {
    "product": {"productFamily": "Compute Instance", "attributes": {"instanceType": "g6.xlarge"}, "sku": "ABC"},
    "terms": {
        "OnDemand": {
            "ABC.JRTCKXETXF": {
                "priceDimensions": {
                    "ABC.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": "0.9123000000"}}
                },
                "offerTermCode": "JRTCKXETXF",
            }
        }
    },
}


def test_the_reader_takes_the_one_hourly_on_demand_price():
    assert live_prices.on_demand_usd_per_hour(json.dumps(PRODUCT)) == 0.9123


def test_the_reader_refuses_a_product_without_or_with_two_hourly_prices():
    empty = {**PRODUCT, "terms": {"OnDemand": {}}}
    with pytest.raises(ValueError, match="found 0"):
        live_prices.on_demand_usd_per_hour(json.dumps(empty))
    term = PRODUCT["terms"]["OnDemand"]["ABC.JRTCKXETXF"]
    two = {"terms": {"OnDemand": {"a": term, "b": term}}}
    with pytest.raises(ValueError, match="found 2"):
        live_prices.on_demand_usd_per_hour(json.dumps(two))


def test_metal_sizes_are_dedicated_bare_metal_products():
    fields = {f["field"]: f["value"] for f in live_prices.on_demand_filters("eu-west-1", "g4dn.metal")}
    assert (fields["tenancy"], fields["productFamily"]) == ("Dedicated", "Compute Instance (bare metal)")


def test_only_the_harness_turns_the_lookups_off():
    assert lookups_enabled({}) is True
    assert lookups_enabled({"GPU_EKS_LOOKUPS": "off"}) is False
