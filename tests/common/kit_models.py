"""Concrete models for testing the kit's abstract bases (created in the test database only,
by tests/common/conftest.py): a points wallet with its ledger, a tool lent from hand to hand
with its custody ledger, a room with its seats."""

from django.db import connection, models
from django.db.models import Q

from nuanxin.common.ledger import AmountEntry, LedgerEntry
from nuanxin.common.seats import SeatHolding


class Wallet(models.Model):
    name = models.CharField(max_length=20)
    balance = models.BigIntegerField(default=0)

    class Meta:
        app_label = "common"

    def __str__(self) -> str:
        return self.name


class WalletEntry(AmountEntry):
    account_field = "wallet"

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="entries")

    class Meta(AmountEntry.Meta):
        app_label = "common"
        constraints = [models.UniqueConstraint(fields=["wallet", "key"], condition=~Q(key=""),
                                               name="kit_test_wallet_key_once")]


class Tool(models.Model):
    name = models.CharField(max_length=20)
    holder = models.CharField(max_length=20, default="shelf")  # "shelf": nobody has it

    class Meta:
        app_label = "common"

    def __str__(self) -> str:
        return self.name


class ToolEntry(LedgerEntry):
    account_field = "tool"

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="entries")
    from_holder = models.CharField(max_length=20, blank=True)  # blank: the tool is new
    to_holder = models.CharField(max_length=20)

    class Meta(LedgerEntry.Meta):
        app_label = "common"


class Room(models.Model):
    name = models.CharField(max_length=20)
    capacity = models.PositiveIntegerField()

    class Meta:
        app_label = "common"

    def __str__(self) -> str:
        return self.name


class Booking(SeatHolding):
    pool_field = "room"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bookings")

    class Meta(SeatHolding.Meta):
        app_label = "common"
        constraints = [models.UniqueConstraint(fields=["room", "key"],
                                               name="kit_test_booking_key_once")]


TABLES = (Wallet, WalletEntry, Tool, ToolEntry, Room, Booking)


def create_tables() -> None:
    """Tables for the models above, next to the migrated ones (test database only)."""
    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in TABLES:
            if model._meta.db_table not in existing:
                editor.create_model(model)
