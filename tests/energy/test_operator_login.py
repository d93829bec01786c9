"""A cabinet operator's engineer signs in on the partner login and reaches the cabinet
console; partners that run no cabinets see no link to it."""

import pytest

from tests.factories import energy as f
from tests.factories.people import PartnerFactory, PartnerUserFactory

pytestmark = pytest.mark.django_db


def test_an_operator_signs_in_straight_to_the_energy_console(client):
    operator = f.operator()
    engineer = PartnerUserFactory(partner=operator.partner, username="duty.engineer")
    response = client.post("/partner/login/", {"username": engineer.username,
                                               "password": "partner-long-password",
                                               "next": "/console/energy/"})
    assert response.status_code == 302 and response["Location"] == "/console/energy/"
    assert client.get("/console/energy/").status_code == 200
    home = client.get("/partner/").content.decode()
    assert 'data-testid="energy-console-link"' in home


def test_a_partner_without_cabinets_gets_no_cabinet_link(client):
    engineer = PartnerUserFactory(partner=PartnerFactory(name="某社会组织"),
                                  username="social.worker")
    client.force_login(engineer)
    assert 'data-testid="energy-console-link"' not in client.get("/partner/").content.decode()
