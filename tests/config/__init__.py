"""Tests of components/config.py: the top-level keys and the rules that span sections."""
