from django.urls import path

from orders import views

urlpatterns = [
    path("", views.order_list),
    path("<int:pk>/", views.order_detail),
]
