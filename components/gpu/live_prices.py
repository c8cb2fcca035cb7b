"""Region-true prices read at deploy time: what to ask the AWS Price List API and EC2, and how to read the answers.

The offline snapshot (`components.gpu.prices`, Karpenter's generated data) has on-demand prices for us-east-1 and
GovCloud only, so every other region's contract had none. A deploy (`pulumi preview` / `pulumi up`) therefore asks
AWS, per instance type of the pools, as provider lookups:

* **On-demand**: `aws.pricing.get_product` (the Price List Query API, GetProducts) with the filters Karpenter's own
  pricing provider uses (aws/karpenter-provider-aws@v1.14.1 pkg/providers/pricing/pricing.go
  `fetchOnDemandPricing`: regionCode, serviceCode AmazonEC2, preInstalledSw NA, operatingSystem Linux,
  capacitystatus Used, marketoption OnDemand; tenancy Shared and productFamily "Compute Instance", or Dedicated and
  "Compute Instance (bare metal)" for metal sizes), plus licenseModel, so exactly one product matches, as
  get_product requires. The Price List API answers from us-east-1 for every commercial region (AWS Price List
  Query API endpoints: us-east-1, eu-central-1, ap-south-1; China has its own in cn-northwest-1).
* **Spot**: `aws.ec2.get_spot_price` (DescribeSpotPriceHistory), Linux/UNIX, the most recent price in any zone of
  the stack's region, for pools that may use spot.

Renders (tools.render, preflight, the tests) stay offline (components.common.lookups: the model harness turns the
lookups off), and the contract then carries the snapshot as before. Pure functions only; components/gpu/component.py
makes the calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SERVICE_CODE = "AmazonEC2"
SPOT_FILTERS = ({"name": "product-description", "values": ["Linux/UNIX"]},)
ON_DEMAND_SOURCE = "AWS Price List API"
SPOT_SOURCE = "EC2 spot price history"


def price_list_region(region: str) -> str:
    """Where to call the Price List Query API for a stack in `region`."""
    return "cn-northwest-1" if region.startswith("cn-") else "us-east-1"


def on_demand_filters(region: str, instance_type: str) -> list[dict[str, str]]:
    """GetProducts TERM_MATCH filters that select exactly the Linux on-demand product of one type in one region."""
    metal = instance_type.endswith(".metal") or "metal-" in instance_type
    return [
        {"field": "instanceType", "value": instance_type},
        {"field": "regionCode", "value": region},
        {"field": "preInstalledSw", "value": "NA"},
        {"field": "operatingSystem", "value": "Linux"},
        {"field": "capacitystatus", "value": "Used"},
        {"field": "marketoption", "value": "OnDemand"},
        {"field": "licenseModel", "value": "No License required"},
        {"field": "tenancy", "value": "Dedicated" if metal else "Shared"},
        {"field": "productFamily", "value": "Compute Instance (bare metal)" if metal else "Compute Instance"},
    ]


def on_demand_usd_per_hour(product_json: str) -> float:
    """The hourly USD price in one Price List product (the `result` of get_product): its single OnDemand term's
    single price dimension. ValueError when the product has none or several (not an hourly on-demand product)."""
    product = json.loads(product_json)
    dimensions = [
        dimension
        for term in (product.get("terms", {}).get("OnDemand") or {}).values()
        for dimension in (term.get("priceDimensions") or {}).values()
    ]
    hourly = [d for d in dimensions if d.get("unit") in ("Hrs", "Hours")]
    if len(hourly) != 1:
        raise ValueError(f"expected one hourly on-demand price, found {len(hourly)}")
    return float(hourly[0]["pricePerUnit"]["USD"])


@dataclass(frozen=True)
class LivePrices:
    """What the deploy read, per instance type: USD per node-hour, None where the lookup found no price."""

    region: str
    on_demand: Mapping[str, float | None]
    spot: Mapping[str, float | None] = field(default_factory=dict)
    failures: Mapping[str, str] = field(default_factory=dict)  # "g6.xlarge on-demand" -> why it is null

    def on_demand_source(self) -> str:
        return f"on-demand {self.region}, {ON_DEMAND_SOURCE}, read at deploy{self._nulls('on-demand')}"

    def spot_source(self) -> str:
        return (
            f"spot {self.region}, {SPOT_SOURCE} (Linux/UNIX, most recent in any zone), read at deploy; a spot price "
            f"changes hourly{self._nulls('spot')}"
        )

    def _nulls(self, kind: str) -> str:
        missing = sorted(k.split(" ")[0] for k in self.failures if k.endswith(f" {kind}"))
        return f"; null for {', '.join(missing)} (no price found)" if missing else ""


def per_slice(node_usd_per_hour: Mapping[str, float | None], slices_per_node: Mapping[str, int]) -> dict[str, Any]:
    """USD per slice-hour from USD per node-hour, rounded as the snapshot figures are (4 places)."""
    return {
        name: None if node_usd_per_hour.get(name) is None else round(node_usd_per_hour[name] / slices, 4)  # type: ignore[operator]
        for name, slices in slices_per_node.items()
    }
