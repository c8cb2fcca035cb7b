"""Mocked results of the data sources the components call themselves (partition, region, zones, add-on versions)."""

from __future__ import annotations

from typing import Any

from preflight.model.children.common import (
    GET_ADDON_VERSION,
    GET_AVAILABILITY_ZONES,
    GET_PARTITION,
    GET_REGION,
    UnmodelledPath,
)

# Zone letters per region as getAvailabilityZones lists them (zone names map to zone IDs per account; the IDs
# below follow AWS's "<region abbreviation>-az<n>" form in list order). Regions not listed get a, b, c.
REGION_ZONE_LETTERS = {
    "us-east-1": "abcdef",
    "us-east-2": "abc",
    "us-west-1": "ac",
    "us-west-2": "abcd",
    "ca-central-1": "abd",
    "eu-west-1": "abc",
    "eu-west-2": "abc",
    "eu-west-3": "abc",
    "eu-central-1": "abc",
    "eu-north-1": "abc",
    "ap-northeast-1": "acd",
    "ap-northeast-2": "abcd",
    "ap-southeast-1": "abc",
    "ap-southeast-2": "abc",
    "ap-south-1": "abc",
    "sa-east-1": "abc",
}
_DIRECTIONS = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def _region_abbreviation(region: str) -> str:
    """us-west-2 -> usw2, ap-northeast-1 -> apne1 (the prefix of AWS zone IDs)."""
    parts = region.split("-")
    return parts[0] + "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]


def availability_zones(region: str) -> dict[str, Any]:
    """The mocked result of aws.getAvailabilityZones() for a region (names and zone IDs in list order)."""
    letters = REGION_ZONE_LETTERS.get(region, "abc")
    abbreviation = _region_abbreviation(region)
    return {
        "id": region,
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"{abbreviation}-az{index + 1}" for index in range(len(letters))],
        "groupNames": [region] * len(letters),
        "state": None,
    }


def component_invoke_result(region: str, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Mocked results of the data sources the components call."""
    if token == GET_PARTITION:
        partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
        return {
            "id": partition,
            "partition": partition,
            "dnsSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        }
    if token == GET_REGION:
        return {"id": region, "name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com"}
    if token == GET_AVAILABILITY_ZONES:
        return availability_zones(args.get("region") or region)
    if token == GET_ADDON_VERSION:
        # What mostRecent resolves to is only known against a real account on the day of the deployment.
        marker = "mostRecent" if args.get("mostRecent") else "default"
        return {
            "id": args["addonName"],
            "addonName": args["addonName"],
            "kubernetesVersion": args["kubernetesVersion"],
            "version": f"[{marker} {args['addonName']} for {args['kubernetesVersion']}]",
        }
    raise UnmodelledPath(f"no mocked result for component invoke {token}")


# == awsx.ec2.Vpc ======================================================================================================
