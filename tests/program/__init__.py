"""Tests of the whole program: runs per stack, render, preview, remote children, placement, Helm, provider
schemas, teardown, examples, docs, workflows and the import graph."""
