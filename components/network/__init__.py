"""The VPC: its config section (new or brought), the subnet layout and the Network component."""
