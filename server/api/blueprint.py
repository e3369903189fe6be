"""The API's Blueprint: flask-smorest's, with a strict JSON reader and documented errors.

Every resource module builds its blueprint from this class, so hostile bodies are refused
the same way everywhere, before any schema or service sees them:

- a body that is not `application/json` (or `application/*+json`) is 415, not a 422 that
  lists every field as missing;
- invalid syntax, bytes that are not UTF-8, `NaN`/`Infinity` (not JSON, and not storable
  in PostgreSQL's json), integers beyond Python's digit limit, repeated keys (two parsers
  could read different values), nesting deeper than `MAX_JSON_DEPTH`, NUL characters
  (PostgreSQL text cannot hold them) and lone surrogates (no UTF-8 form) are 400 with the
  reason and where; deep nesting never reaches a recursive serializer;
- a NUL in an /api/ URL's path or query is 400 before any view queries with it;
- a page far past any real table (its offset would overflow the database's bigint) is 422.

A list that counts its matches only up to a cap (the findings) says so in its
`X-Pagination` header: `total` is then the cap with `"total_is_lower_bound": true`, and
neither `total_pages` nor `last_page` is given, since neither is known; `next_page` is
there when a further page holds items. Below the cap the header is flask-smorest's own.

Error responses declared with `alt_response` and no schema get the one error shape, so
the OpenAPI spec says what every error body looks like.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from apispec import APISpec
from flask import Request, Response, request
from flask_smorest import pagination
from flask_smorest.exceptions import NotModified
from flask_smorest.utils import resolve_schema_instance
from webargs import core
from webargs.flaskparser import FlaskParser, abort
from werkzeug.routing import IntegerConverter, Map

from server.api.schemas import ErrorOut
from server.http_common.bounds import MAX_PAGE, MAX_ROW_ID

MAX_JSON_DEPTH = 32  # the deepest real body (inspection → answers → photos) is 3
# JSON may escape half of a surrogate pair ("\\ud800") on its own; such text has no UTF-8
# form, so every database (and any later encode) would fail on it with a 500.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


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


def _path(link: tuple[Any, str] | None) -> str:
    """The dotted path of a value from its (parent link, key) chain ("" for the body)."""
    keys: list[str] = []
    while link is not None:
        link, key = link
        keys.append(key)
    return ".".join(reversed(keys))


def _check_text(text: str, link: tuple[Any, str] | None, what: str) -> None:
    """A string or key: no NUL, no lone surrogate (ASCII text cannot hold one, and is
    nearly all text: the search is skipped for it)."""
    if "\x00" in text:
        where = _path(link) or "the body"
        if what == "text":
            _bad_json(f"{where}: text must not contain NUL (\\u0000)")
        _bad_json(f"{where}: a key contains NUL (\\u0000)")
    if not text.isascii() and LONE_SURROGATE.search(text):
        where = _path(link) or "the body"
        if what == "text":
            _bad_json(f"{where}: text contains a lone surrogate (\\ud800–\\udfff)")
        _bad_json(f"{where}: a key contains a lone surrogate")


def _check_structure(value: Any) -> None:
    """Refuse nesting past `MAX_JSON_DEPTH` and NUL characters anywhere (PostgreSQL text
    cannot hold them: they would fail in the database, as a 500). Iterative, so a deep
    body cannot overflow the stack here. Where a value sits is kept as a chain of (parent,
    key) links and spelled out only for an error: a body has hundreds of values."""
    stack: list[tuple[Any, tuple[Any, str] | None, int]] = [(value, None, 1)]
    while stack:
        item, link, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, link, "text")
            continue
        if isinstance(item, dict):
            children: Any = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            _bad_json(f"nested deeper than {MAX_JSON_DEPTH} levels")
        for key, child in children:
            name = str(key)
            _check_text(name, link, "key")
            stack.append((child, (link, name), depth + 1))


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
    _check_structure(value)
    return value


def refuse_nul_in_url() -> None:
    """A NUL in an /api/ path or query string is a 400 before any view queries with it."""
    if not request.path.startswith("/api/"):
        return
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    ):
        abort(
            400,
            message="网址含有空字符 / the URL contains a NUL character (%00)",
            messages={"query": ["must not contain NUL (%00)"]},
        )


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


class PaginationMetadataSchema(pagination.PaginationMetadataSchema):
    """flask-smorest's `X-Pagination` fields, and the flag of a total counted up to a cap."""

    total = ma.fields.Int(
        metadata={"description": "Total number of items; a lower bound when total_is_lower_bound."}
    )
    total_is_lower_bound = ma.fields.Bool(
        metadata={
            "description": (
                "Present (true) only when the list counted its matches up to a cap and there "
                "are more: total is then the cap, total_pages and last_page are left out, "
                "and next_page says whether a further page holds items."
            )
        }
    )


PAGINATION_HEADER = {
    "description": "分页信息 / pagination metadata (JSON)",
    "schema": PaginationMetadataSchema,
}


def count_is_lower_bound(pagination_parameters: Any, *, has_next: bool) -> None:
    """Mark a paginated view's `item_count` as a lower bound (the matches were counted up to
    a cap), and say whether a page after this one holds items."""
    pagination_parameters.item_count_is_lower_bound = True
    pagination_parameters.has_next_page = has_next


def lower_bound_metadata(page: int, item_count: int, *, has_items: bool, has_next: bool) -> Any:
    """The `X-Pagination` header of a page whose total is only known to be at least
    `item_count`: no last page or page count, which would be wrong; `page` and
    `previous_page` only when the page holds items (as flask-smorest leaves them out past
    the last page)."""
    metadata: dict[str, Any] = {"total": item_count, "total_is_lower_bound": True, "first_page": 1}
    if has_items:
        metadata["page"] = page
        if page > 1:
            metadata["previous_page"] = page - 1
        if has_next:
            metadata["next_page"] = page + 1
    return PaginationMetadataSchema().dump(metadata)


class Blueprint(flask_smorest.Blueprint):
    """The blueprint every /api/v1 resource is built from."""

    ARGUMENTS_PARSER = StrictJSONParser()
    PAGINATION_ARGUMENTS_PARSER = PaginationParser()

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Any:
        """As flask-smorest's, with the schema built once, and a JSON body also documents its
        400 and 415 answers.

        Given a class, webargs builds a new schema, nested schemas and all, on every request
        (about a tenth of a checklist 304); our schemas hold no per-request state, so one
        instance serves every request.
        """
        schema = resolve_schema_instance(schema)
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return decorator
        bad_json = self.alt_response(400, description="请求体不是有效的JSON / invalid JSON")
        not_json = self.alt_response(415, description="须为 application/json / not JSON")
        return lambda view: not_json(bad_json(decorator(view)))

    def _check_not_modified(self, etag: str) -> None:
        """As flask-smorest's, but the 304 carries its ETag, as RFC 9110 (15.4.5) requires and
        flask-smorest does not yet (marshmallow-code/flask-smorest#319), and goes out as it is:
        a 304 has no body, so the JSON error handler has nothing to build."""
        if request.method in self.METHODS_CHECKING_NOT_MODIFIED and etag in request.if_none_match:
            # JSON, like the 200 it stands for, so it gets the API's security policy.
            not_modified = Response(status=304, mimetype="application/json")
            not_modified.set_etag(etag)
            raise NotModified(response=not_modified)

    def alt_response(
        self, status_code: int, response: Any = None, *, schema: Any = None, **kwargs: Any
    ) -> Any:
        """As flask-smorest's; an error without a schema is documented with the error shape."""
        if response is None and schema is None and int(status_code) >= 400:
            schema = ErrorOut
        return super().alt_response(status_code, response, schema=schema, **kwargs)

    def _set_pagination_metadata(self, page_params: Any, result: Any, headers: Any) -> Any:
        """As flask-smorest's, unless the view marked its count a lower bound."""
        if not getattr(page_params, "item_count_is_lower_bound", False):
            return super()._set_pagination_metadata(page_params, result, headers)
        headers = {} if headers is None else headers
        headers[self.PAGINATION_HEADER_NAME] = json.dumps(
            lower_bound_metadata(
                page_params.page,
                page_params.item_count,
                has_items=bool(result),
                has_next=page_params.has_next_page,
            )
        )
        return result, headers

    def _document_pagination_metadata(self, spec: APISpec, resp_doc: dict[str, Any]) -> None:
        """The header documented with our schema, as one `PAGINATION` header component (the
        Api leaves flask-smorest's out: server/http_common/extensions.py)."""
        if "PAGINATION" not in spec.components.headers:
            spec.components.header("PAGINATION", PAGINATION_HEADER)
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = "PAGINATION"
