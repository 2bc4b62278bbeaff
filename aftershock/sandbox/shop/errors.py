"""Client errors of the shop API: always a 4xx with a JSON body."""

from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error the client caused or can act on; rendered as JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.code, "message": self.message}, status_code=self.status)


class Unavailable(ApiError):
    """A dependency did not answer in time; the outcome of a write may be unknown."""

    def __init__(self, message: str) -> None:
        super().__init__(503, "unavailable", message)
