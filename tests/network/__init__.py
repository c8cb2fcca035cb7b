"""Tests of components/network: the `network` config section, subnet layout, the Network component."""
