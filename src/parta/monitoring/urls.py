from django.urls import path, re_path

from parta.monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("report/", views.report_page, name="report"),
    re_path(r"^report\.(?P<fmt>csv|xlsx)$", views.report_download, name="report-download"),
]
