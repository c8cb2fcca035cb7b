"""What every domain package shares: the config parsing core, label and tag names, AWS naming, the stack context."""
