"""Wharf's test kit: the people, the objects and the servers tests and benchmarks build on.

``personas`` (the standard users), ``factories`` (registries, spaces, bindings, repositories,
namespaces, pull credentials), ``access`` (``assert_access``, a permission matrix for one URL)
and ``doubles`` (the Harbor double and the real docker-registry, with their pytest fixtures).
Nothing in Wharf itself imports it (``portal/tests/test_import_graph.py`` checks that).
"""
