"""gpu-eks program entry point: read the stack config, build the platform, export its outputs."""

from components.config import load_config
from components.platform import Platform

config = load_config()
platform = Platform("gpu-eks", config)
platform.export_outputs()
