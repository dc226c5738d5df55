"""Admin for HR staff; every save and delete goes through entries.services."""

import base64

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.audit import Action, emit
from core.exceptions import FaceRecError

from . import admin_bulk, admin_uploads, conf, identification, services
from .access import VIEW_ENTRIES, may_see_faces
from .exceptions import EntryGone
from .forms import FaceEntryForm, FacePhotoInlineForm, IdentifyForm
from .models import FaceEntry, FacePhoto, PhotoSource, PossibleDuplicate, photos_of_model
from .recognition import calibration, images


def warn_possible_duplicates(request, photo) -> None:
    """After a save: a warning for each employee the new photo resembles (named only to those who may view)."""
    for match in photo.flagged:
        warning = services.possible_duplicate_warning(match, named=may_see_faces(request))
        messages.warning(request, format_html('{} <a href="{}">Possible duplicate faces</a>', warning["message"],
                                              reverse("admin:entries_possibleduplicate_changelist")))


def thumbnail_html(photo, height=48):
    if not photo.thumbnail:
        return "-"
    data = base64.b64encode(bytes(photo.thumbnail)).decode()
    return format_html('<img src="data:image/jpeg;base64,{}" alt="face" style="height:{}px;border-radius:4px">',
                       data, height)


class FacePhotoInline(admin.TabularInline):
    """More photos of the employee: identify and the duplicate-face guard score them all.

    They are part of the entry, so the entry's permissions decide (as in the API): adding or removing one
    changes the entry; their faces show only to users who may view entries.
    """

    model = FacePhoto
    form = FacePhotoInlineForm
    extra = 1
    fields = ["face", "photo", "origin", "embedding_model", "created_at"]
    readonly_fields = ["face", "origin", "embedding_model", "created_at"]
    verbose_name_plural = "more photos of this employee (recognised better than from one photo)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.may_view_entries = may_see_faces(request)
        return formset

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if may_see_faces(request) else [f for f in fields if f != "face"]

    def _entry_permission(self, request, obj, action):
        return request.user.has_perm(f"entries.{action if obj is None else 'change'}_faceentry")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_ENTRIES) or request.user.has_perm("entries.change_faceentry")

    def has_add_permission(self, request, obj=None):
        return self._entry_permission(request, obj, "add")

    def has_change_permission(self, request, obj=None):
        return self._entry_permission(request, obj, "add")

    def has_delete_permission(self, request, obj=None):
        return self._entry_permission(request, obj, "add")

    @admin.display(description="Face")
    def face(self, photo):
        return thumbnail_html(photo) if photo.pk else "-"

    @admin.display(description="From")
    def origin(self, photo):
        """Learned ones say where from: HR removes one that should not be there (ticking Delete)."""
        if not photo.pk or photo.source != PhotoSource.KIOSK:
            return "HR" if photo.pk else "-"
        return f"learned at kiosk {photo.kiosk_name or '?'} (clocking {photo.learned_from})"


@admin.register(FaceEntry)
class FaceEntryAdmin(admin.ModelAdmin):
    form = FaceEntryForm
    inlines = [FacePhotoInline]
    list_display = ["thumbnail_tag", "employee_code", "name", "department", "gender", "photo_count", "created_at"]
    list_display_links = ["thumbnail_tag", "employee_code"]
    search_fields = ["employee_code", "name"]
    list_filter = ["department", "gender"]
    actions = admin_bulk.ACTIONS  # set department, employment end; export (attendance adds withdraw consent)
    ordering = ["employee_code"]
    readonly_fields = ["photo_preview", "embedding_summary", "created_at", "updated_at", "consent_recorded_by"]
    fieldsets = [
        (None, {"fields": ["employee_code", "name", "gender", "department"]}),
        ("Photo", {"fields": ["photo_preview", "photo", "chosen_face", "largest_face", "allow_duplicate_face"]}),
        ("Consent and retention", {"fields": ["consent_reference", "consent_at", "consent_recorded_by",
                                              "employment_end", "retain_until"]}),
        ("Technical details", {"fields": ["embedding_summary", "created_at", "updated_at"],
                               "classes": ["collapse"]}),  # a <details> disclosure: closed until opened
    ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.may_view_entries, form.uploader = may_see_faces(request), request.user
        return form

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if may_see_faces(request) else [f for f in shown if f != "thumbnail_tag"]

    def get_list_display_links(self, request, list_display):
        return [f for f in super().get_list_display_links(request, list_display) if f in list_display]

    def get_fieldsets(self, request, obj=None):
        if may_see_faces(request):
            return super().get_fieldsets(request, obj)
        return [(name, {**options, "fields": [f for f in options["fields"] if f != "photo_preview"]})
                for name, options in super().get_fieldsets(request, obj)]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("image", "embedding").annotate(photo_total=Count("photos"))

    @admin.display(description="Photos", ordering="photo_total")
    def photo_count(self, entry):
        return 1 + entry.photo_total

    change_list_template = "admin/entries/faceentry/change_list.html"

    class Media:
        css = {"all": ["entries/compare.css"]}  # a photo kept from a refused form, beside the one it matches

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<str:pk>/photo/", view(self.photo_view), name="entries_faceentry_photo"),
            path("identify/", view(self.identify_view), name="entries_faceentry_identify"),
            *admin_bulk.BulkViews(self).urls(),  # import a ZIP, its progress, export
            *super().get_urls(),
        ]

    def identify_view(self, request):
        """Upload a photo, see each face boxed and who it is."""
        if not may_see_faces(request):
            raise PermissionDenied
        form = IdentifyForm(request.POST or None, request.FILES or None, departments=services.departments())
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Identify a photo"}
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["photo"].read()
            try:
                result = identification.identify(image=data, department=form.cleaned_data["department"] or None)
            except FaceRecError as exc:
                form.add_error("photo", exc.message)
            else:
                context.update(result=result, annotated=images.annotate(data, result.faces),
                               show_closest=form.cleaned_data["show_closest"])
        return TemplateResponse(request, "admin/entries/faceentry/identify.html", context)

    def photo_view(self, request, pk):
        """Serve a stored photo to staff allowed to view entries."""
        if not may_see_faces(request):
            raise PermissionDenied
        entry = self.get_object(request, pk)  # None for an unknown or malformed id
        if entry is None:
            raise Http404
        emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=[entry.employee_code])
        response = HttpResponse(bytes(entry.image), content_type=entry.image_mime)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.display(description="Photo")
    def thumbnail_tag(self, entry):
        return thumbnail_html(entry)

    def changelist_view(self, request, extra_context=None):
        """Show which recognition model is active, the identify threshold it uses now and the pairs for HR to check."""
        model = conf.get("MODEL")
        context = {"recognition_model": model, "may_identify": may_see_faces(request),
                   "open_duplicates": PossibleDuplicate.objects.open().count()
                   if self.admin_site._registry[PossibleDuplicate].has_view_permission(request) else 0}
        try:  # counted in the database: the page need not load the search index
            context["identify_threshold"] = calibration.identify_threshold(model, max(1, photos_of_model(model)))
        except LookupError:
            pass
        response = super().changelist_view(request, {**context, **(extra_context or {})})
        if may_see_faces(request) and isinstance(response, TemplateResponse) and "cl" in response.context_data:
            shown = [entry.employee_code for entry in response.context_data["cl"].result_list if entry.thumbnail]
            if shown:  # face crops are face data: one event per page, naming whose faces it showed
                emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=shown, thumbnails=len(shown))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Audit the more-photos inline's faces (the current photo is audited by photo_view, which serves it)."""
        response = super().change_view(request, object_id, form_url, extra_context)
        if may_see_faces(request) and isinstance(response, TemplateResponse):
            shown = sum(bool(form.instance.pk and form.instance.thumbnail)
                        for inline in response.context_data.get("inline_admin_formsets", [])
                        for form in inline.formset.forms)
            if shown:
                emit(Action.VIEW_PHOTO, sender=FaceEntry,
                     employee_codes=[response.context_data["original"].employee_code], thumbnails=shown)
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if request.method == "POST":  # shown again after a POST: something was refused, the photo need not be
            context["adminform"].form.keep_photo()
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Current photo")
    def photo_preview(self, entry):
        if not entry.pk:
            return "-"
        return format_html('<a href="{0}" target="_blank"><img src="{0}" alt="photo" style="max-height:240px"></a>',
                           reverse("admin:entries_faceentry_photo", args=[entry.pk]))

    @admin.display(description="Embedding")
    def embedding_summary(self, entry):
        if not entry.pk:
            return "Computed from the photo when you save."
        x, y, w, h = entry.face_box
        active = conf.get("MODEL")
        stale = "" if entry.embedding_model == active else f" (stale: the active model is {active}; run reembed)"
        return (f"{entry.embedding_model}, {len(entry.vector)} dimensions; face at x={x}, y={y}, {w}x{h} px; "
                f"{1 + entry.photos.count()} photo(s) enrolled{stale}")

    def save_model(self, request, obj, form, change):
        # A change passes what HR changed, as a PATCH would: the service fills what follows from it (the
        # retention of a new employment end, the date of a new consent), and the audit names only those fields.
        metadata = {name: form.cleaned_data[name] for name in services.METADATA_FIELDS + services.CONSENT_FIELDS
                    if not change or name in form.changed_data}
        face, allow = form.face, form.cleaned_data.get("allow_duplicate_face", False)
        face_box = form.cleaned_data.get("chosen_face")
        if change:
            for name in metadata:  # the form set them on obj already: the service compares with what was stored
                setattr(obj, name, form.initial.get(name))
            try:
                entry = services.entry_update(entry=obj, image=face.image if face else None, face=face,
                                              face_box=face_box, allow_duplicate_face=allow,
                                              recorded_by=request.user, **metadata)
            except EntryGone as exc:
                raise Http404(exc.message) from exc
        else:
            metadata["consent_reference"] = metadata["consent_reference"] or ""
            entry = services.entry_register(image=face.image, face=face, face_box=face_box,
                                            allow_duplicate_face=allow, recorded_by=request.user, **metadata)
            obj.pk, obj.created_at = entry.pk, entry.created_at
            obj._state.adding = False
        admin_uploads.forget(form.kept)  # registered: the kept photo is the entry's now
        warn_possible_duplicates(request, entry)

    def save_formset(self, request, form, formset, change):
        if formset.model is not FacePhoto:
            return super().save_formset(request, form, formset, change)
        for inline in formset.forms:
            if not hasattr(inline, "cleaned_data"):
                continue
            if inline.cleaned_data.get("DELETE") and inline.instance.pk:
                services.photo_remove(photo=inline.instance)
            elif inline.face is not None:
                # The form named any duplicate for the user; the service checks again under the write lock.
                warn_possible_duplicates(request, services.photo_add(entry=form.instance, image=inline.face.image,
                                                                     face=inline.face))
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        services.entry_delete(entry=obj)

    def delete_queryset(self, request, queryset):
        for entry in queryset:
            services.entry_delete(entry=entry)


class StatusFilter(admin.SimpleListFilter):
    """Open pairs unless asked otherwise: they are HR's to-do list."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "To check"), ("resolved", "Resolved"), ("all", "All")]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": (self.value() or "open") == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, queryset):
        value = self.value() or "open"
        if value == "open":
            return queryset.open()
        return queryset.filter(resolved_at__isnull=False) if value == "resolved" else queryset


@admin.register(PossibleDuplicate)
class PossibleDuplicateAdmin(admin.ModelAdmin):
    """Employees whose faces are alike, but not enough for the duplicate-face guard to refuse: HR tells them apart.

    Faces and whom they resemble are face data: only for users who may view entries. A real duplicate is
    deleted from its employee's page (the pair goes with it); different people are resolved here.
    """

    list_display = ["faces", "review", "entry_link", "other_link", "similarity_shown", "created_at", "resolution",
                    "resolved_by", "resolved_at"]
    list_display_links = None
    list_filter = [StatusFilter]
    actions = ["different_people"]
    fields = readonly_fields = ("faces", "entry_link", "other_link", "similarity_shown", "created_at", "resolution",
                                "resolved_by", "resolved_at")

    class Media:
        css = {"all": ["entries/possible_duplicates.css"]}

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and may_see_faces(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and may_see_faces(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Django asks this when an employee's deletion takes their pairs with it; a pair alone is never deleted
        # here (get_actions, delete_view): deciding is audited, deleting a pair would not be.
        return request.user.has_perm("entries.delete_faceentry")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("entry", "other", "resolved_by").defer(
            "entry__image", "entry__embedding", "other__image", "other__embedding")

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and "cl" in response.context_data:
            shown = [p.employee_code for pair in response.context_data["cl"].result_list
                     for p in (pair.entry, pair.other)]
            if shown:  # as the entries list: one event per page naming whose faces it showed
                emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=shown, thumbnails=len(shown))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The pair side by side: both photos (served, and audited, by the entries' photo view) and HR's decision."""
        pair = self.get_object(request, object_id)
        if pair is None:
            raise Http404
        if not self.has_view_permission(request, pair):
            raise PermissionDenied
        may_decide = pair.resolved_at is None and self.has_change_permission(request, pair)
        if request.method == "POST":
            if not self.has_change_permission(request, pair) or "different_people" not in request.POST:
                raise PermissionDenied
            codes = f"{pair.entry.employee_code} and {pair.other.employee_code}"
            if services.possible_duplicate_resolve(pair=pair, resolved_by=request.user):
                self.message_user(request, f"{codes} are recorded as different people.", messages.SUCCESS)
            else:  # someone else decided first (or a second click)
                self.message_user(request, f"{codes} were already resolved.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:entries_possibleduplicate_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "pair": pair,
                   "title": "Are these two people different?", "may_decide": may_decide,
                   "sides": [(entry, reverse("admin:entries_faceentry_photo", args=[entry.pk]),
                              reverse("admin:entries_faceentry_change", args=[entry.pk]))
                             for entry in (pair.entry, pair.other)],
                   "similarity": f"{pair.similarity:.3f}", **(extra_context or {})}
        return TemplateResponse(request, "admin/entries/possibleduplicate/review.html", context)

    @admin.display(description="Review")
    def review(self, pair):
        return format_html('<a href="{}">Compare</a>', reverse("admin:entries_possibleduplicate_change",
                                                               args=[pair.pk]))

    @admin.display(description="Faces")
    def faces(self, pair):
        return format_html('<span class="facerec-pair">{}</span>', format_html_join(
            "", '<img src="data:image/jpeg;base64,{}" alt="{}">',
            ((base64.b64encode(bytes(e.thumbnail)).decode(), e.employee_code) for e in (pair.entry, pair.other))))

    def _link(self, entry):
        return format_html('<a href="{}">{}</a>', reverse("admin:entries_faceentry_change", args=[entry.pk]), entry)

    @admin.display(description="Registered", ordering="entry__employee_code")
    def entry_link(self, pair):
        return self._link(pair.entry)

    @admin.display(description="Resembles", ordering="other__employee_code")
    def other_link(self, pair):
        return self._link(pair.other)

    @admin.display(description="Similarity", ordering="similarity")
    def similarity_shown(self, pair):
        return f"{pair.similarity:.3f}"

    @admin.action(description="Different people (resolve the selected pairs)", permissions=["change"])
    def different_people(self, request, queryset):
        resolved = sum(services.possible_duplicate_resolve(pair=pair, resolved_by=request.user) for pair in queryset)
        self.message_user(request, f"{resolved} pair(s) resolved as different people.", messages.SUCCESS)
