"""The preset roles: a group each, so nobody picks from the raw permissions (`manage.py setup_roles`).

A role is what one job needs and no more. None holds `entries.view_embedding` (the biometric templates, for API
integrations only), the users and groups, the API tokens or the lockouts: those stay with superusers.
"""

from django.contrib.auth.models import Group, Permission

from facerec.databases import atomic

HR_STAFF = [
    # Employees and their photos: enrol, correct, see their faces; never their embeddings, never delete.
    "entries.view_faceentry", "entries.add_faceentry", "entries.change_faceentry",
    "entries.view_facephoto", "entries.add_facephoto", "entries.change_facephoto",
    "entries.view_possibleduplicate",
    # Who is in, the timesheets, the imports they started, which kiosks answer.
    "attendance.view_attendanceevent", "attendance.view_nonbiometricemployee", "attendance.view_kiosk",
    "jobs.view_job",
]

ROLES: dict[str, list[str]] = {
    "HR staff": HR_STAFF,
    "HR administrator": [
        *HR_STAFF,
        # Deleting employees (and so withdrawing consent), deciding possible duplicate faces.
        "entries.delete_faceentry", "entries.delete_facephoto", "entries.change_possibleduplicate",
        # Employees who clock without a face: PINs, badges, consent withdrawn.
        "attendance.add_nonbiometricemployee", "attendance.change_nonbiometricemployee",
        "attendance.delete_nonbiometricemployee",
        "audit.view_auditevent",
    ],
    "Attendance manager": [
        # Clockings: correct, add, delete (each with a reason), decide the flagged ones, read the timesheets.
        "attendance.view_attendanceevent", "attendance.add_attendanceevent", "attendance.change_attendanceevent",
        "attendance.delete_attendanceevent",
        "attendance.view_nonbiometricemployee", "attendance.change_nonbiometricemployee",
        "attendance.view_kiosk",
        # The enrolled photo beside a flagged clocking's frame.
        "entries.view_faceentry",
    ],
    "Auditor": [
        # The audit trail, read-only (nobody may change or delete it), and what it refers to, read-only.
        "audit.view_auditevent", "attendance.view_attendanceevent", "jobs.view_job",
    ],
    "Kiosk administrator": [
        # Pair, re-key, revoke and configure the kiosks.
        "attendance.view_kiosk", "attendance.add_kiosk", "attendance.change_kiosk", "attendance.delete_kiosk",
    ],
}


class UnknownPermission(LookupError):
    pass


def permissions(names: list[str]) -> list[Permission]:
    """The Permission rows for 'app_label.codename' names; raise UnknownPermission naming any that is missing."""
    wanted = {(app, codename) for app, codename in (name.split(".", 1) for name in names)}
    found = {}
    for app in {app for app, _ in wanted}:  # one query an app: MongoDB's backend cannot select_related this join
        codenames = [codename for label, codename in wanted if label == app]
        for permission in Permission.objects.filter(content_type__app_label=app, codename__in=codenames):
            found[app, permission.codename] = permission
    missing = sorted(".".join(key) for key in wanted - found.keys())
    if missing:
        raise UnknownPermission(f"No such permission: {', '.join(missing)} (has `manage.py migrate` run?)")
    return [found[key] for key in sorted(wanted)]


def setup_roles(*, reset: bool = False) -> dict[str, bool]:
    """Create each preset group, or give an existing one any preset permission it lacks (a permission added to
    it by hand stays, unless `reset`: then it holds the preset's exactly); return {name: created}."""
    done = {}
    with atomic():  # every preset or none, on each store
        for name, names in ROLES.items():
            group, created = Group.objects.get_or_create(name=name)
            if reset:
                group.permissions.set(permissions(names))
            else:
                group.permissions.add(*permissions(names))
            done[name] = created
    return done
