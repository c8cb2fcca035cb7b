"""Controller node group hardening: our own launch template, IMDSv2 with hop limit 1, encrypted gp3 root (item 4)."""

from __future__ import annotations


def test_launch_template_requires_imdsv2_and_keeps_imds_off_the_pod_network():
    from components.cluster.builders import controller_launch_template

    template = controller_launch_template(disk_size_gib=50, tags={})
    assert template["metadata_options"] == {
        "http_endpoint": "enabled",
        "http_tokens": "required",
        "http_put_response_hop_limit": 1,
    }


def test_launch_template_root_volume_is_encrypted_gp3_of_the_configured_size():
    from components.cluster.builders import controller_launch_template

    template = controller_launch_template(disk_size_gib=80, tags={"team": "ml"})
    assert template["block_device_mappings"] == [
        {
            "device_name": "/dev/xvda",
            "ebs": {"volume_size": 80, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"},
        }
    ]


def test_launch_template_tags_instances_and_volumes():
    from components.cluster.builders import controller_launch_template

    template = controller_launch_template(disk_size_gib=50, tags={"team": "ml"})
    assert template["tag_specifications"] == [
        {"resource_type": "instance", "tags": {"team": "ml"}},
        {"resource_type": "volume", "tags": {"team": "ml"}},
    ]


def test_controller_node_group_uses_our_launch_template(stack_run):
    run = stack_run("dev")
    templates = run.by_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 1
    group = run.one("eks:index:ManagedNodeGroup").plain_inputs()
    assert group["launchTemplate"]["id"] == templates[0].resource_id


def test_controller_node_group_leaves_imds_and_disk_to_the_template(stack_run):
    group = stack_run("dev").one("eks:index:ManagedNodeGroup").plain_inputs()
    # pulumi-eks would build its own template (hop limit 2, unencrypted root) for either of these.
    assert "enableImdSv2" not in group
    assert "diskSize" not in group


def test_controller_node_group_follows_the_kubernetes_version(run_with):
    # With a launch template pulumi-eks no longer defaults the group's version to the cluster's.
    group = run_with("dev", kubernetesVersion="1.35").one("eks:index:ManagedNodeGroup").plain_inputs()
    assert group["version"] == "1.35"


def test_registered_launch_template_has_hop_limit_one_and_encrypted_gp3_root(stack_run):
    template = stack_run("dev").one("aws:ec2/launchTemplate:LaunchTemplate").plain_inputs()
    assert template["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    assert template["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {"volumeSize": 50, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"},
        }
    ]


def test_configured_disk_size_reaches_the_root_volume(run_with):
    template = (
        run_with("dev", controllerNodeGroup={"diskSize": 120})
        .one("aws:ec2/launchTemplate:LaunchTemplate")
        .plain_inputs()
    )
    assert template["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 120
