"""The flytekit adapter's own code (see conformance/adapters/flytekit.py).

Importing the package imports nothing else: `scratch` must be usable before
flytekit is imported.
"""
