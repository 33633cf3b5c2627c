"""URLs of the sample."""

from __future__ import annotations

from django.urls import path

from mysite import views

urlpatterns = [
    path("", views.index),
    path("orders/<str:order_id>", views.order),
    path("slow", views.slow),
    path("boom", views.boom),
]
