"""The HTTP layer's unbound extensions, bound in `create_app` like those of
`server.extensions`; they live here because the API and the pages may not import
`server.extensions` (the database is the services' business)."""

import flask_smorest
from flask_wtf.csrf import CSRFProtect


class Api(flask_smorest.Api):
    """flask-smorest's Api, without its `X-Pagination` header component: our API blueprint
    documents the header with the fields it really sends (server/api/blueprint.py), and
    flask-smorest's would leave an unused, stricter `PaginationMetadata` in the spec."""

    def _register_pagination_header(self) -> None:
        pass


api = Api()
# Web forms: CSRF is checked by the web blueprints only (the API uses bearer tokens, which a
# browser never sends on its own, so it needs no CSRF token).
csrf = CSRFProtect()
