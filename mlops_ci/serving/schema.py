"""The model's input schema: inferred at build time, enforced by the server with pydantic.

A request that does not match the schema must get a 422 naming the field, never
a 500 from deep inside scikit-learn. The schema is a small JSON document baked
into the image (``{"fields": [{"name", "type", "nullable"}]}``) so the server
does not have to guess types from a pickle at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

#: Schema types and the JSON values they accept.
TYPES = ("number", "integer", "string", "boolean")


class SchemaError(ValueError):
    """The schema document itself is malformed (a build-time problem, not a request problem)."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


def parse_schema(doc: Mapping[str, Any]) -> list[Field]:
    """Fields of a schema document; raises :class:`SchemaError` naming the bad entry."""
    raw = doc.get("fields")
    if not isinstance(raw, list) or not raw:
        raise SchemaError("schema: 'fields' must be a non-empty list")
    fields, seen = [], set()
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise SchemaError(f"schema: fields[{i}] needs a non-empty 'name'")
        kind = item.get("type", "number")
        if kind not in TYPES:
            raise SchemaError(f"schema: fields[{i}] ({item['name']}): type must be one of {', '.join(TYPES)}, "
                              f"got {kind!r}")
        if item["name"] in seen:
            raise SchemaError(f"schema: field {item['name']!r} is listed twice")
        seen.add(item["name"])
        fields.append(Field(item["name"], kind, bool(item.get("nullable", False))))
    return fields


def type_for_dtype(kind: str) -> str:
    """Schema type for a numpy dtype kind ('f', 'i', 'u', 'b', 'O', 'U', 'M', …)."""
    if kind in ("i", "u"):
        return "integer"
    if kind == "f":
        return "number"
    if kind == "b":
        return "boolean"
    return "string"


def infer_fields(dtypes: Mapping[str, str], nullable: Iterable[str] = (),
                 only: Iterable[str] | None = None) -> list[Field]:
    """Fields from ``{column: dtype kind}`` of sample data, restricted to ``only`` (the model's features).

    Integer columns become ``number``: a model trained on whole numbers still
    accepts 3.5 at serving time, and rejecting it would be a surprise.
    """
    wanted = list(only) if only is not None else list(dtypes)
    missing = [name for name in wanted if name not in dtypes]
    if missing:
        raise SchemaError(f"schema: the sample data has no column(s) {', '.join(missing)} the model expects")
    null = set(nullable)
    out = []
    for name in wanted:
        kind = type_for_dtype(dtypes[name])
        out.append(Field(name, "number" if kind == "integer" else kind, name in null))
    return out


def schema_document(fields: Iterable[Field]) -> dict[str, Any]:
    return {"fields": [f.to_dict() for f in fields]}


def request_model(fields: list[Field], max_batch: int) -> Any:
    """A pydantic model for ``{"instances": [{…row…}, …]}``: unknown keys forbidden, types checked."""
    from pydantic import BaseModel, ConfigDict, Field as PField, create_model

    python = {"number": float, "integer": int, "string": str, "boolean": bool}
    definitions: dict[str, Any] = {}
    for f in fields:
        annotation: Any = python[f.type]
        if f.type == "number":
            from typing import Annotated

            annotation = Annotated[float, PField(allow_inf_nan=False)]
        if f.nullable:
            annotation = annotation | None
        definitions[f.name] = (annotation, ...)
    row = create_model("Row", __config__=ConfigDict(extra="forbid", strict=False), **definitions)

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        instances: list[row] = PField(..., min_length=1, max_length=max_batch)  # type: ignore[valid-type]

    return PredictRequest


def describe_errors(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """pydantic/FastAPI errors as 'instances[3].tenure_months: Input should be a valid number'."""
    out = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if p != "body"]
        where = ""
        for part in loc:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        out.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return out
