"""The base of records that gained fields after schema version 2."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer


class NewerFieldsOmitted(BaseModel):
    """A record with fields added in a later schema version: each one named in `newer_fields`
    is left out of the JSON while it holds its default, so an artifact made before the field
    existed keeps its exact JSON, and so its content hash."""

    newer_fields: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unset_newer_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in self.newer_fields:
            if getattr(self, name) == type(self).model_fields[name].default:
                data.pop(name, None)
        return data
