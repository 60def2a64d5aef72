import logging

from django.http import HttpRequest, HttpResponse

from orders.metrics import LOOKUP, VIEWS

logger = logging.getLogger(__name__)


def order_list(request: HttpRequest) -> HttpResponse:
    VIEWS.labels(page="list").inc()
    with LOOKUP.labels(table="orders").time():
        pass
    return HttpResponse("[]")


def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    VIEWS.labels(page="detail").inc()
    logger.info("order shown", extra={"order_pk": pk})
    return HttpResponse("{}")
