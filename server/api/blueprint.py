"""The API's Blueprint: flask-smorest's, with a strict JSON reader and documented errors.

Every resource module builds its blueprint from this class, so hostile bodies are refused
the same way everywhere, before any schema or service sees them:

- a body that is not `application/json` (or `application/*+json`) is 415, not a 422 that
  lists every field as missing;
- invalid syntax, bytes that are not UTF-8, `NaN`/`Infinity` (not JSON, and not storable
  in PostgreSQL's json), integers beyond Python's digit limit, repeated keys (two parsers
  could read different values) and nesting deeper than `MAX_JSON_DEPTH` are 400 with the
  reason; deep nesting never reaches a recursive serializer;
- a page far past any real table (its offset would overflow the database's bigint) is 422.

Error responses declared with `alt_response` and no schema get the one error shape, so
the OpenAPI spec says what every error body looks like.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Request
from flask_smorest.error_handler import ErrorSchema
from webargs import core
from webargs.flaskparser import FlaskParser, abort
from werkzeug.routing import IntegerConverter, Map

MAX_JSON_DEPTH = 32  # the deepest real body (inspection → answers → photos) is 3
MAX_PAGE = 1_000_000  # far past any table; keeps OFFSET inside a bigint
MAX_ROW_ID = 2**31 - 1  # ids are PostgreSQL `integer`s


class RowIdConverter(IntegerConverter):
    """`<int:…>` in a URL: a row id, so a number past 2³¹−1 is a 404, not a database error.

    The maximum also appears in the OpenAPI spec (flask-smorest reads it from the converter).
    """

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def _bad_json(reason: str) -> NoReturn:
    abort(
        400,
        message=f"请求体不是有效的JSON / the body is not valid JSON: {reason}",
        messages={"json": [reason]},
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 parses as infinity
        raise ValueError(f"number {text[:40]} is out of range")
    return number


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key[:80]!r} appears twice")
        result[key] = value
    return result


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit`; iterative, so depth cannot overflow it."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json_strictly(data: bytes) -> Any:
    """The JSON value of a request body (RFC 8259, UTF-8), or a 400 that says why not."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_float=_finite_number,
            object_pairs_hook=_object_without_repeats,
        )
    except RecursionError:
        _bad_json(f"nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        _bad_json(str(error)[:200])
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        _bad_json(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


class StrictJSONParser(FlaskParser):
    """webargs' Flask parser with the strict JSON reading described above."""

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        data = req.get_data(cache=True)
        if not data:
            return core.missing  # the schema then names the required fields
        if not core.is_json(req.mimetype):
            abort(
                415,
                message=(
                    "须为 Content-Type: application/json / the body must be JSON, "
                    f"sent as application/json (got {req.mimetype or 'no Content-Type'})"
                ),
                messages={"json": ["Content-Type must be application/json"]},
            )
        return parse_json_strictly(data)


class PaginationParser(FlaskParser):
    """flask-smorest's page parameters, with a page number no database offset overflows."""

    def parse(self, argmap: Any, req: Request | None = None, **kwargs: Any) -> Any:
        parameters = super().parse(argmap, req, **kwargs)
        if parameters.page > MAX_PAGE:
            abort(
                422,
                message=f"页码过大 / page must be at most {MAX_PAGE}",
                messages={"query": {"page": [f"Must be less than or equal to {MAX_PAGE}."]}},
            )
        return parameters


class Blueprint(flask_smorest.Blueprint):
    """The blueprint every /api/v1 resource is built from."""

    ARGUMENTS_PARSER = StrictJSONParser()
    PAGINATION_ARGUMENTS_PARSER = PaginationParser()

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Any:
        """As flask-smorest's, and a JSON body also documents its 400 and 415 answers."""
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return decorator
        bad_json = self.alt_response(400, description="请求体不是有效的JSON / invalid JSON")
        not_json = self.alt_response(415, description="须为 application/json / not JSON")
        return lambda view: not_json(bad_json(decorator(view)))

    def alt_response(
        self, status_code: int, response: Any = None, *, schema: Any = None, **kwargs: Any
    ) -> Any:
        """As flask-smorest's; an error without a schema is documented with the error shape."""
        if response is None and schema is None and int(status_code) >= 400:
            schema = ErrorSchema
        return super().alt_response(status_code, response, schema=schema, **kwargs)
