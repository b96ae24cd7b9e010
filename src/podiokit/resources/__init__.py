# Placeholder until `python -m codegen` generates this module.


class ResourceNamespaces:
    """The generated resource namespaces (podio.items, podio.apps, ...)."""
