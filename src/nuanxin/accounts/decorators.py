"""Page guards for staff: logged in as staff, and second factor done when the role needs it."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect

from nuanxin.accounts.selectors import staff_profile_of

SESSION_TOTP_OK = "nuanxin_totp_ok"


def staff_required(view):
    """Staff (or superuser) only; administrators must have passed TOTP in this session."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated or (staff_profile_of(user) is None
                                          and not user.is_superuser):
            return redirect_to_login(request.get_full_path(), "accounts:staff_login")
        from nuanxin.accounts.services import staff_requires_totp

        if staff_requires_totp(user) and not request.session.get(SESSION_TOTP_OK):
            return redirect("accounts:staff_totp")
        return view(request, *args, **kwargs)

    return wrapper
