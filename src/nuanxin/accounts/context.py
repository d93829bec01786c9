from nuanxin.accounts.selectors import unread_notification_count


def inbox(request):
    """The unread-message badge in the top bar."""
    return {"unread_count": unread_notification_count(getattr(request, "user", None))}
