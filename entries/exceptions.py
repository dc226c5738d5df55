"""Domain errors. Each carries a machine-readable code and the HTTP status the API maps it to."""


class FaceRecError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidImage(FaceRecError):
    """The bytes are not a JPEG, PNG, WebP or HEIC photo."""

    code = "unsupported_image"
    status = 415


class ImageTooLarge(FaceRecError):
    code = "image_too_large"
    status = 413


class NoFaceFound(FaceRecError):
    code = "no_face"
    status = 422


class ImageTooSmall(NoFaceFound):
    """A side under faces.MIN_IMAGE_SIDE pixels: no face can be found in it (and dlib must not be given it)."""

    code = "image_too_small"


class MultipleFacesFound(FaceRecError):
    code = "multiple_faces"
    status = 422


class DuplicateEmployeeCode(FaceRecError):
    code = "duplicate_employee_code"
    status = 409


class DuplicateFace(FaceRecError):
    """The face already belongs to another employee (allow it explicitly for twins)."""

    code = "duplicate_face"
    status = 409

    def anonymous(self) -> "DuplicateFace":
        """The same refusal without saying whose face it is (for those who may not view entries)."""
        return DuplicateFace("This face matches another employee. If they really are different people "
                             "(e.g. twins), allow duplicate faces.")


class StaleEmbedding(FaceRecError):
    """The entry's embedding was made by another model; run `manage.py reembed`."""

    code = "stale_embedding"
    status = 409


class PoorFaceQuality(FaceRecError):
    """The face is too small, blurred or turned to make a reliable template (enrolment only)."""

    code = "poor_face_quality"
    status = 422


class TooManyPhotos(FaceRecError):
    code = "too_many_photos"
    status = 409


class PhotoAlreadyEnrolled(FaceRecError):
    code = "photo_already_enrolled"
    status = 409


class EntryGone(FaceRecError):
    """The entry was deleted while a request that changes it was being handled: it stays deleted."""

    code = "not_found"
    status = 404


class TooManyFaces(FaceRecError):
    """More faces than FACEREC_MAX_FACES_PER_PHOTO: each costs time, so a photo's cost stays bounded."""

    code = "too_many_faces"
    status = 422


class ServiceUnavailable(FaceRecError):
    code = "service_unavailable"
    status = 503


class ConsentRequired(FaceRecError):
    """Registration without the employee's recorded consent, while FACEREC_REQUIRE_CONSENT is on."""

    code = "consent_required"
    status = 422
