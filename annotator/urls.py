from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from annotator.signin import AdminSignInForm, SignInView, TokenApi
from projects.exports.urls import api_urlpatterns as export_api
from projects.imports.urls import api_urlpatterns as import_api
from projects.urls import api_urlpatterns as project_api
from projects.views import health

api_patterns = [
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:api-schema"), name="api-docs"),
    *project_api,
    path("", include("projects.workflow.urls")),
    path("", include("projects.review.urls")),
    path("", include("projects.quality.urls")),
    *export_api,
    *import_api,
    path("", include("projects.sources.urls")),
]

# The admin's login counts failed attempts like the login page and the token route.
admin.site.login_form = AdminSignInForm

handler404 = "annotator.api_errors.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health, name="health"),
    path("api/", include((api_patterns, "api"))),
    path("api/", include("inference.urls")),
    path("", include("projects.urls")),
]
