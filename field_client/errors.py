"""Errors the field client shows to its user."""


class FieldError(Exception):
    """Something the user must know or fix; the CLI prints it and exits non-zero."""

    exit_code = 1


class NotLoggedIn(FieldError):
    pass


class ServerRefused(FieldError):
    """The server answered with a 4xx that retrying cannot fix."""

    def __init__(self, status: int, message: str, errors: object = None) -> None:
        super().__init__(f"服务器拒绝（{status}）/ server refused ({status}): {message}")
        self.status = status
        self.errors = errors
