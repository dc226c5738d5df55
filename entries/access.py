"""Who may see faces: one rule for the admin and the API, so neither shows a photo the other would hide."""

VIEW_ENTRIES = "entries.view_faceentry"  # photos, face thumbnails and who a face is


def may_see_faces(request) -> bool:
    """The API's rule: the change permission alone shows no face (Django's view permission would)."""
    return request.user.has_perm(VIEW_ENTRIES)
