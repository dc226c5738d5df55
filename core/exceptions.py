"""The error every app raises for a refusal: a message, a machine-readable code and the HTTP status the API answers.

Each app subclasses FaceRecError for its own refusals; the few that any app can meet are here.
"""


class FaceRecError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def shown_to(self, request) -> "FaceRecError":
        """The error as the request's user may read it: one that names someone says less to those who may not know.

        Only an error that needs to reads `request.user`: after a database outage in authentication, that fails.
        """
        return self


class ImageTooLarge(FaceRecError):
    code = "image_too_large"
    status = 413


class ServiceUnavailable(FaceRecError):
    code = "service_unavailable"
    status = 503
