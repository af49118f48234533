from django.urls import path

from casework.api import media, takedowns

app_name = "api"

urlpatterns = [
    path("media/", media.MediaSubmitApi.as_view(), name="media_submit"),
    path("media/<int:pk>/", media.MediaItemDetailApi.as_view(), name="media_item_detail"),
    path("media/<int:pk>/findings/", media.MediaItemFindingsApi.as_view(), name="media_item_findings"),
    path("takedown-requests/", takedowns.TakedownListApi.as_view(), name="takedown_requests"),
    path("takedown-requests/<int:pk>/", takedowns.TakedownDetailApi.as_view(), name="takedown_request_detail"),
]
