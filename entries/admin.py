"""Admin for HR staff; every save and delete goes through entries.services."""

import base64

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from . import identification, services
from .exceptions import FaceRecError
from .forms import FaceEntryForm, IdentifyForm
from .models import FaceEntry
from .recognition import images


@admin.register(FaceEntry)
class FaceEntryAdmin(admin.ModelAdmin):
    form = FaceEntryForm
    list_display = ["thumbnail_tag", "employee_code", "name", "department", "gender", "created_at"]
    list_display_links = ["thumbnail_tag", "employee_code"]
    search_fields = ["employee_code", "name"]
    list_filter = ["department", "gender"]
    ordering = ["employee_code"]
    readonly_fields = ["photo_preview", "embedding_summary", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["employee_code", "name", "gender", "department"]}),
        ("Photo", {"fields": ["photo_preview", "photo", "largest_face", "allow_duplicate_face"]}),
        ("Face embedding", {"fields": ["embedding_summary", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("image", "embedding")

    change_list_template = "admin/entries/faceentry/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/photo/", view(self.photo_view), name="entries_faceentry_photo"),
            path("identify/", view(self.identify_view), name="entries_faceentry_identify"),
            *super().get_urls(),
        ]

    def identify_view(self, request):
        """Upload a photo, see each face boxed and who it is."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = IdentifyForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Identify a photo"}
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["photo"].read()
            try:
                result = identification.identify(image=data, department=form.cleaned_data["department"] or None)
            except FaceRecError as exc:
                form.add_error("photo", exc.message)
            else:
                context.update(result=result, annotated=images.annotate(data, result.faces))
        return TemplateResponse(request, "admin/entries/faceentry/identify.html", context)

    def photo_view(self, request, pk):
        """Serve a stored photo to staff allowed to view entries."""
        entry = get_object_or_404(FaceEntry, pk=pk)
        if not self.has_view_permission(request, entry):
            raise PermissionDenied
        response = HttpResponse(bytes(entry.image), content_type=entry.image_mime)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=300"
        return response

    @admin.display(description="Photo")
    def thumbnail_tag(self, entry):
        if not entry.thumbnail:
            return "-"
        data = base64.b64encode(bytes(entry.thumbnail)).decode()
        return format_html('<img src="data:image/jpeg;base64,{}" alt="{}" style="height:48px;border-radius:4px">',
                           data, entry.employee_code)

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
        return f"{entry.embedding_model}, {len(entry.vector)} dimensions; face at x={x}, y={y}, {w}x{h} px"

    def save_model(self, request, obj, form, change):
        metadata = {name: form.cleaned_data[name] for name in services.METADATA_FIELDS}
        face, allow = form.face, form.cleaned_data.get("allow_duplicate_face", False)
        if change:
            services.entry_update(entry=obj, image=face.image if face else None, face=face,
                                  allow_duplicate_face=allow, **metadata)
        else:
            entry = services.entry_register(image=face.image, face=face, allow_duplicate_face=allow, **metadata)
            obj.pk, obj.created_at = entry.pk, entry.created_at
            obj._state.adding = False

    def delete_model(self, request, obj):
        services.entry_delete(entry=obj)

    def delete_queryset(self, request, queryset):
        for entry in queryset:
            services.entry_delete(entry=entry)
