import logging

from django.http import HttpRequest, HttpResponse

from orders import metrics

logger = logging.getLogger(__name__)


def order_list(request: HttpRequest) -> HttpResponse:
    metrics.VIEWS.labels(user=request.user.id).inc()  # planted: cardinality
    with metrics.LOOKUP.labels(table="orders").time():
        pass
    return HttpResponse("[]")


def order_detail(request: HttpRequest, pk: str) -> HttpResponse:
    metrics.VIEWS.labels(user=f"order-{pk}").inc()  # planted: cardinality
    return HttpResponse("{}")


def login(request: HttpRequest) -> HttpResponse:
    logger.warning("failed login with %s", request.POST["password"])  # planted: log-secret
    metrics.SIGNUPS.labels(orders_signups="web").inc()
    metrics.PAGE_VIEWS.inc()
    try:
        request.session.flush()
    except:  # noqa: E722  # planted: swallowed-exception
        pass
    return HttpResponse("")
