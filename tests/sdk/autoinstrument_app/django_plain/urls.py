"""One view with a URL pattern and a query."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path


def item(request: HttpRequest, item_id: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s", [item_id])
        (found,) = cursor.fetchone()
    return JsonResponse({"id": found})


urlpatterns = [path("items/<int:item_id>/", item)]
