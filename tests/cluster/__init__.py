"""Tests of components/cluster: the cluster's config keys, builders, node role and the Cluster component."""
