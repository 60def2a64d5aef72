"""Views: a health check, an order lookup (ORM and raw SQL with literals), an order confirmed
by a Celery task, a streamed export, a failure."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

import tripod

from .models import Order

log = tripod.get_logger("shop")


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def order(request: HttpRequest, order_id: int) -> JsonResponse:
    if order_id == 0:
        raise Http404("no order 0")
    found = Order.objects.filter(id=order_id).first()
    if found is None:
        found = Order.objects.create(id=order_id, email=f"buyer{order_id}@example.com")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM shop_order WHERE status = 'open' AND id > -1")
        (open_orders,) = cursor.fetchone()
    log.info("order loaded", extra={"order_id": order_id})
    return JsonResponse({"id": found.id, "email": found.email, "open_orders": open_orders})


def export(request: HttpRequest) -> StreamingHttpResponse:
    def lines() -> Iterator[str]:
        for order in Order.objects.order_by("id").iterator():
            yield f"{order.id},{order.status}\n"

    return StreamingHttpResponse(lines(), content_type="text/csv")


def confirm(request: HttpRequest, order_id: int) -> JsonResponse:
    """Create the order and hand its confirmation to Celery (one trace: request -> task -> DB)."""
    from .tasks import confirm_order  # Celery is needed only by this view

    Order.objects.get_or_create(id=order_id, defaults={"email": f"buyer{order_id}@example.com"})
    result = confirm_order.delay(order_id)
    log.info("confirmation queued", extra={"order_id": order_id})
    return JsonResponse({"id": order_id, "task_id": result.id}, status=202)


def boom(request: HttpRequest) -> HttpResponse:
    msg = "the shop is on fire"
    raise RuntimeError(msg)
