"""JSON 404 for any unknown /api/ path, so API clients never get Django's HTML page."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from api.exceptions import error_response


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def api_not_found(request, *args, **kwargs):
    return error_response("not_found", f"No API endpoint at {request.path}.", http_status=404)
