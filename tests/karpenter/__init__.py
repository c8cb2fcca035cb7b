"""Tests of components/karpenter: config, IAM, interruption handling, chart values, manifests against the CRDs."""
