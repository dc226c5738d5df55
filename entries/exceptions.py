"""Face entries' refusals (core.exceptions holds their base and the errors any app can meet)."""

from core.exceptions import FaceRecError, ServiceUnavailable


class InvalidImage(FaceRecError):
    """The bytes are not a JPEG, PNG, WebP or HEIC photo."""

    code = "unsupported_image"
    status = 415


class NoFaceFound(FaceRecError):
    code = "no_face"
    status = 422


class ImageTooSmall(NoFaceFound):
    """A side under faces.MIN_IMAGE_SIDE pixels: no face can be found in it (and dlib must not be given it)."""

    code = "image_too_small"


class UnknownDepartment(FaceRecError):
    """A department to search that nobody is enrolled in: a typo must not silently search nobody."""

    code = "unknown_department"
    status = 422  # the request is well formed (the schema allows any name); what it names does not exist


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

    def shown_to(self, request) -> "DuplicateFace":
        """Whose face it is only for those who may view entries; others get the same refusal without it."""
        if request.user.has_perm("entries.view_faceentry"):
            return self
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


class ConsentRequired(FaceRecError):
    """Registration without the employee's recorded consent, while FACEREC_REQUIRE_CONSENT is on."""

    code = "consent_required"
    status = 422


class NotLearned(FaceRecError):
    """A kiosk frame that may not become a template (services.photo_learn): `reason` says which guard refused it."""

    code = "not_learned"
    status = 409


class ArchiveRefused(FaceRecError):
    """An uploaded ZIP that will not be imported: not a ZIP, too large, unsafe, or with a member or row that would
    fail. `code` says which (not_a_zip, too_many_files, too_large, zip_bomb, unsafe_path, not_an_image, ...)."""

    code = "archive_refused"
    status = 400

    def __init__(self, message: str, *, code: str, **details):
        super().__init__(message, **details)
        self.code = code


class EngineUnavailable(ServiceUnavailable):
    """The face engine cannot load on this server (a model file missing or corrupt): no request can be served."""

    code = "engine_unavailable"
