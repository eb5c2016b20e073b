"""Report screens. Each views module lists its own routes."""

from reports.views import dashboard, statistics, summary

app_name = "reports"

urlpatterns = dashboard.urlpatterns + statistics.urlpatterns + summary.urlpatterns
