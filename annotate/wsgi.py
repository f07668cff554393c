import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
application = get_wsgi_application()

# In-process mode has no beat: this web process runs the periodic sweeps itself (annotate.celery).
from annotate.celery import start_inprocess_sweeper  # noqa: E402

start_inprocess_sweeper()
