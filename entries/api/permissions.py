from core.api.permissions import ModelPermissions


class PhotoPermissions(ModelPermissions):
    """An employee's photos belong to their entry: adding or removing one changes the entry."""

    perms_map = {
        **ModelPermissions.perms_map,
        "POST": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.change_%(model_name)s"],
    }
