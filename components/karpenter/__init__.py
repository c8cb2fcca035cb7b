"""Karpenter: its config section and the NodePool config both pool lists share, IAM, interruption handling,
chart values, custom-resource builders, and the Karpenter and NodePools components."""
