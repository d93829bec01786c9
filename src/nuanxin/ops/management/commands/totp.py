"""`nuanxin totp <username>`: the current second-factor code of a demo administrator."""

import pyotp
from django.core.management.base import BaseCommand, CommandError

from nuanxin.accounts.models import User


class Command(BaseCommand):
    help = "Print the current TOTP code of a user (for the demo; needs server access)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None or not user.totp_secret:
            raise CommandError(f"{username} has no second factor enrolled.")
        self.stdout.write(pyotp.TOTP(user.totp_secret).now())
