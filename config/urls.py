from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from casework.views import health, two_factor

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/verify/", two_factor.two_factor_verify, name="two_factor_verify"),
    path("healthz", health.healthz, name="healthz"),  # for load balancers and supervisors (README, "Production")
    path("admin/", admin.site.urls),
    path("api/v1/", include("casework.api.urls")),
    # StopNCII's hash API for the platforms an organisation admits (README, "For platforms").
    path("api/stopncii/v1/", include("casework.api.stopncii_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("", include("casework.urls")),
]
