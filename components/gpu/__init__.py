"""GPU capacity: the `gpuNodePools` config section, the instance catalog, NVIDIA sharing configs and chart values,
the pools' NodePools and NodeOverlays, the workload contract, and the GpuCapacity component.

A new GPU pool option touches only this package, its tests (tests/gpu/) and the README."""
