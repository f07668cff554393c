from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Standpoint"

    def ready(self) -> None:
        from .celery import configure_execution_mode

        configure_execution_mode()
