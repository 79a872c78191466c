"""The base of records that gained fields after schema version 2 (`pldc._newer_fields`, outside
this package so that `pldc.backends.base.ModelIdentity` can use it too)."""

from pldc._newer_fields import NewerFieldsOmitted

__all__ = ["NewerFieldsOmitted"]
