"""Errors the field client shows to its user."""


class FieldError(Exception):
    """Something the user must know or fix; the CLI prints it and exits non-zero."""

    exit_code = 1


class NotLoggedIn(FieldError):
    pass


class ServerRefused(FieldError):
    """The server answered with a 4xx that retrying cannot fix; `code` is its machine code
    (the server's error table, README "Error codes"), what the client branches on."""

    def __init__(
        self, status: int, message: str, errors: object = None, code: str | None = None
    ) -> None:
        said = f"{status} {code}" if code else str(status)
        super().__init__(f"服务器拒绝（{said}）/ server refused ({said}): {message}")
        self.status = status
        self.code = code
        self.errors = errors
