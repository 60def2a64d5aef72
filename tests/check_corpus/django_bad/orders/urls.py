from django.urls import path, re_path

from orders import views

urlpatterns = [
    path("", views.order_list),  # planted: coverage
    re_path(r"^(?P<pk>\d+)/$", views.order_detail),  # planted: coverage
    path("login/", views.login),  # planted: coverage
]
