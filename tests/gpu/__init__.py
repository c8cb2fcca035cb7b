"""Tests of components/gpu: GPU pool config, catalog, NVIDIA configs, pools, overlays, chart values, contract."""
