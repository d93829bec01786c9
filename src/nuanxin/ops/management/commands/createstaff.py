"""`nuanxin createstaff`: add a staff member to an organisation unit at a region."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from nuanxin.accounts.models import StaffRole
from nuanxin.accounts.services import org_unit_ensure, staff_create
from nuanxin.common.errors import ServiceError
from nuanxin.geo.models import Region


class Command(BaseCommand):
    help = "Create a staff account: --username, --role, --region (code), --password."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=StaffRole.values)
        parser.add_argument("--region", required=True, help="region code of the unit")
        parser.add_argument("--password")
        parser.add_argument("--name", default="")
        parser.add_argument("--phone")

    def handle(self, *args, username, role, region, password, name, phone, **options):
        place = Region.objects.filter(code=region).first()
        if place is None:
            raise CommandError(f"unknown region {region}")
        unit = org_unit_ensure(region=place)
        password = password or getpass.getpass("Password: ")
        try:
            user = staff_create(username=username, password=password, org_unit=unit, role=role,
                                phone=phone, display_name=name)
        except ServiceError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({role}) at {unit}."))
