from django.contrib import admin

from nuanxin.voice.models import Story, StoryEvent


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    """Read-only: publishing goes through the console, which checks the author's consent."""

    list_display = ["id", "region", "kind", "status", "consent_publish", "show_name",
                    "created_at"]
    list_filter = ["status", "kind"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StoryEvent)
class StoryEventAdmin(admin.ModelAdmin):
    list_display = ["story", "action", "from_state", "to_state", "actor", "at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
