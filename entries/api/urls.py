from rest_framework.routers import DefaultRouter

from .views import FaceEntryViewSet

router = DefaultRouter()
router.register("entries", FaceEntryViewSet, basename="entry")

urlpatterns = router.urls
