"""Django admin for raw data. Large tables use raw id widgets and no full counts, so that pages
stay fast on projects of hundreds of thousands of articles."""

from django.contrib import admin
from django.utils.html import format_html

from . import models
from .nlp.loading import describe_configured_pipeline


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


class TargetInline(admin.TabularInline):
    model = models.Target
    extra = 0


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "overlap", "assignment_timeout_minutes", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TargetInline, MembershipInline]


@admin.register(models.Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "project", "position"]
    list_filter = ["project"]
    search_fields = ["key", "name"]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]
    autocomplete_fields = ["user", "project"]


class SpanInline(admin.TabularInline):
    model = models.Span
    fk_name = "article"
    extra = 0
    fields = ["start", "end", "label", "span_text", "origin", "attrs", "annotation", "gold", "model_name",
              "model_version"]
    readonly_fields = ["span_text"]
    raw_id_fields = ["annotation", "gold", "suggestion"]
    show_change_link = True

    @admin.display(description="text")
    def span_text(self, span):
        return span.article.text[span.start:span.end] if span.pk else ""


@admin.register(models.Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "title", "source", "project", "published", "preannotation_status", "span_count"]
    list_filter = ["project", "preannotation_status", "source"]
    search_fields = ["external_id", "title", "source"]
    readonly_fields = ["content_hash", "created_at", "updated_at", "preannotated_at"]
    show_full_result_count = False
    list_select_related = ["project"]
    inlines = [SpanInline]

    @admin.display(description="spans")
    def span_count(self, article):
        return article.spans.count()


@admin.register(models.Span)
class SpanAdmin(admin.ModelAdmin):
    list_display = ["__str__", "span_text", "origin", "article", "annotation", "gold", "model_name"]
    list_filter = ["label", "origin"]
    raw_id_fields = ["article", "annotation", "gold", "suggestion"]
    show_full_result_count = False
    list_select_related = ["article"]

    @admin.display(description="text")
    def span_text(self, span):
        return span.article.text[span.start:span.end][:80]


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["article", "annotator", "status", "assigned_at", "submitted_at", "time_spent_seconds"]
    list_filter = ["status", "project"]
    search_fields = ["annotator__username", "article__external_id"]
    raw_id_fields = ["article", "annotator"]
    list_select_related = ["article", "annotator"]
    show_full_result_count = False


@admin.register(models.Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["assignment", "version", "primary_frame", "updated_at", "submitted_at"]
    raw_id_fields = ["assignment"]
    list_select_related = ["assignment__article", "assignment__annotator"]
    show_full_result_count = False


@admin.register(models.Gold)
class GoldAdmin(admin.ModelAdmin):
    list_display = ["article", "method", "decided_by", "decided_at"]
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
