"""StopNCII's hash API for platforms (casework.api.stopncii): the paths python-threatexchange builds as
``{base_url}/{endpoint}``, so the base URL platforms configure is ``https://HOST/api/stopncii/v1``."""

from django.urls import path

from casework.api import stopncii

app_name = "stopncii"

urlpatterns = [
    path("FetchHashes", stopncii.FetchHashesApi.as_view(), name="fetch_hashes"),
    path("SubmitFeedback", stopncii.SubmitFeedbackApi.as_view(), name="submit_feedback"),
]
