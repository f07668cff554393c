"""Django admin for raw data. Large tables use raw id widgets and no full counts, so that pages
stay fast on projects of hundreds of thousands of articles.

One way to write: what the admin may change goes through the services (projects, targets,
memberships) and obeys their rules; annotations, assignments, spans and gold are read-only here
(their writes carry versions, locks and audit events that a raw form would skip: use the API or
/manage/). An article's text is read-only once anybody annotated it or it has spans, because every
stored offset points into it; before that, its content hash follows the text.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from . import models
from .errors import DomainError
from .label_schema import label_schema_validate
from .nlp.loading import describe_configured_pipeline
from .services import memberships as membership_services
from .services import projects as project_services


class StandpointAdminSite(admin.AdminSite):
    site_header = "Standpoint administration"

    def each_context(self, request):
        context = super().each_context(request)
        pipeline = describe_configured_pipeline()
        context["site_header"] = (
            f"Standpoint administration — spaCy: {pipeline['name']} {pipeline['version'] or ''}".strip()
            if pipeline["trained"] else "Standpoint administration — spaCy: rule-only fallback (no trained pipeline)"
        )
        return context


admin.site.__class__ = StandpointAdminSite


class ReadOnlyAdminMixin:
    """View only: the rows are written by services that version, lock and audit them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _form_error(exc: DomainError) -> ValidationError:
    details = exc.details if isinstance(exc.details, dict) else {}
    return ValidationError("; ".join(f"{k}: {m}" for k, v in details.items() for m in v) or exc.message)


class TargetInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = models.Target
    extra = 0
    fields = ["key", "name", "description", "position"]
    readonly_fields = fields
    show_change_link = True


class MembershipInline(ReadOnlyAdminMixin, admin.TabularInline):
    # Changed in the membership admin, which goes through the membership service.
    model = models.Membership
    extra = 0
    fields = ["user", "role"]
    readonly_fields = fields
    show_change_link = True


class ServiceErrorsMixin:
    """A service's refusal (a rule the form could not check first) is shown, not a 500; the
    admin's own transaction is rolled back, so nothing is written."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ProjectForm(forms.ModelForm):
    class Meta:
        model = models.Project
        fields = list(project_services.PROJECT_FIELDS)

    def clean_label_schema(self):
        try:
            return label_schema_validate(self.cleaned_data["label_schema"])
        except DomainError as exc:
            raise _form_error(exc) from None


@admin.register(models.Project)
class ProjectAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    form = ProjectForm
    list_display = ["name", "slug", "overlap", "assignment_timeout_minutes", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TargetInline, MembershipInline]

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in project_services.PROJECT_FIELDS if f in form.cleaned_data}
        if not change:
            created = project_services.project_create(by=request.user, **fields)
            obj.pk, obj._state.adding = created.pk, False
            return
        changed = {f: v for f, v in fields.items() if f in form.changed_data}
        if changed:
            # The service compares with what is stored, so it gets the stored row, not the edited form's.
            # The form holds the whole label schema, so it replaces (not merges); the codebook service
            # then refuses a removal of a label in use, shown as a form error.
            project_services.project_update(project=models.Project.objects.get(pk=obj.pk), by=request.user,
                                            replace=True, **changed)

    def delete_model(self, request, obj):
        project_services.project_delete(project=obj)


@admin.register(models.Target)
class TargetAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ["key", "name", "project", "position"]
    list_filter = ["project"]
    search_fields = ["key", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["project"] if obj else []

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in project_services.TARGET_FIELDS if f in form.cleaned_data}
        if change:
            project_services.target_update(target=models.Target.objects.get(pk=obj.pk),
                                           **{f: v for f, v in fields.items() if f in form.changed_data})
        else:
            created = project_services.target_create(project=form.cleaned_data["project"], **fields)
            obj.pk, obj._state.adding = created.pk, False


class MembershipForm(forms.ModelForm):
    class Meta:
        model = models.Membership
        fields = ["project", "user", "role"]

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk and instance.role == models.Membership.Role.ADMIN and (
                cleaned.get("role") != models.Membership.Role.ADMIN):
            stored = models.Membership.objects.get(pk=instance.pk)
            try:
                membership_services._ensure_other_admin(stored)
            except DomainError as exc:
                raise ValidationError({"role": exc.message}) from None
        return cleaned


@admin.register(models.Membership)
class MembershipAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    form = MembershipForm
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]
    autocomplete_fields = ["user", "project"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a membership to another user or project is a delete and a create.
        return ["project", "user"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            membership_services.membership_update(membership=models.Membership.objects.get(pk=obj.pk),
                                                  role=form.cleaned_data["role"], by=request.user)
        else:
            created = membership_services.membership_create(
                project=form.cleaned_data["project"], username=form.cleaned_data["user"].get_username(),
                role=form.cleaned_data["role"], by=request.user)
            obj.pk, obj._state.adding = created.pk, False

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.role == models.Membership.Role.ADMIN and not models.Membership.objects.filter(
                project_id=obj.project_id, role=models.Membership.Role.ADMIN).exclude(pk=obj.pk).exists():
            return False  # the project's last admin: the service refuses, so the admin never offers it
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        membership_services.membership_delete(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.order_by("pk"):
            try:
                membership_services.membership_delete(membership=membership, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{membership}: {exc.message}", messages.ERROR)


class SpanInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = models.Span
    fk_name = "article"
    extra = 0
    fields = ["start", "end", "label", "span_text", "origin", "attrs", "annotation", "gold", "gold_source",
              "model_name", "model_version"]
    readonly_fields = fields
    show_change_link = True

    @admin.display(description="text")
    def span_text(self, span):
        return span.article.text[span.start:span.end] if span.pk else ""


def _annotated(article) -> bool:
    return bool(article and article.pk and (article.assignments.exists() or article.spans.exists()))


class ArticleForm(forms.ModelForm):
    class Meta:
        model = models.Article
        fields = ["project", "external_id", "title", "source", "url", "published", "meta", "text", "priority",
                  "preannotation_status", "preannotation_error", "preannotation_model"]

    def clean(self):
        cleaned = super().clean()
        if "text" in self.changed_data and _annotated(self.instance):
            # Read-only in the form already; this catches an annotation that started meanwhile.
            raise ValidationError({"text": "is immutable once the article is annotated: every span points into it"})
        return cleaned


@admin.register(models.Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    list_display = ["__str__", "title", "source", "project", "published", "preannotation_status", "span_count"]
    list_filter = ["project", "preannotation_status", "source"]
    search_fields = ["external_id", "title", "source"]
    show_full_result_count = False
    list_select_related = ["project"]
    inlines = [SpanInline]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["content_hash", "created_at", "updated_at", "preannotated_at"]
        return ["text", *fixed] if _annotated(obj) else fixed

    def save_model(self, request, obj, form, change):
        obj.content_hash = models.text_hash(obj.text)  # offsets and re-import de-duplication follow the text
        super().save_model(request, obj, form, change)

    @admin.display(description="spans")
    def span_count(self, article):
        return article.spans.count()


@admin.register(models.Span)
class SpanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "span_text", "origin", "gold_source", "article", "annotation", "gold", "model_name"]
    list_filter = ["label", "origin"]
    raw_id_fields = ["article", "annotation", "gold", "suggestion"]
    show_full_result_count = False
    list_select_related = ["article"]

    @admin.display(description="text")
    def span_text(self, span):
        return span.article.text[span.start:span.end][:80]


@admin.register(models.Assignment)
class AssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["article", "annotator", "status", "assigned_at", "submitted_at", "time_spent_seconds"]
    list_filter = ["status", "project"]
    search_fields = ["annotator__username", "article__external_id"]
    raw_id_fields = ["article", "annotator"]
    list_select_related = ["article", "annotator"]
    show_full_result_count = False


@admin.register(models.Annotation)
class AnnotationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["assignment", "version", "primary_frame", "updated_at", "submitted_at"]
    raw_id_fields = ["assignment"]
    list_select_related = ["assignment__article", "assignment__annotator"]
    show_full_result_count = False


@admin.register(models.Gold)
class GoldAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["article", "method", "version", "decided_by", "decided_at"]
    list_filter = ["method"]
    raw_id_fields = ["article", "decided_by"]


@admin.register(models.PreannotationRun)
class PreannotationRunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "model_name", "model_version", "processed", "failed", "total",
                    "created_at", "finished_at"]
    list_filter = ["status", "project"]


@admin.register(models.ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "status", "processed", "total", "sha256_short", "requested_by",
                    "created_at"]
    list_filter = ["status", "format", "project"]
    readonly_fields = ["sha256", "file_path", "size_bytes", "counts"]

    @admin.display(description="sha256")
    def sha256_short(self, job):
        return format_html("<code>{}</code>", job.sha256[:12]) if job.sha256 else "—"
