"""The EKS cluster: its config section, pure builders, the node role IAM and the Cluster component."""
