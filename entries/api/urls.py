from rest_framework.routers import DefaultRouter

from .recognition import RecognitionViewSet
from .views import FaceEntryViewSet

router = DefaultRouter()
router.register("entries", FaceEntryViewSet, basename="entry")
router.register("", RecognitionViewSet, basename="recognition")

urlpatterns = router.urls
