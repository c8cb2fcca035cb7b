"""gpu-eks: the Pulumi program's code, one package per domain (see README "Design")."""
