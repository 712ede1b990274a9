from django.urls import re_path

from parta.monitoring import views

app_name = "monitoring"
urlpatterns = [
    re_path(r"^report\.(?P<fmt>csv|xlsx)$", views.report_download, name="report-download"),
]
