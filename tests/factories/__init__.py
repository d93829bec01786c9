"""One set of test factories for people and places, and builders for the domain rows that
several apps' tests need. Import from the module that holds what you need:

    from tests.factories.places import YIJIASHAN, CHUITAI, StationFactory, ensure_units
    from tests.factories.people import StaffFactory, WorkerFactory, login
    from tests.factories.needs import NeedFactory, raise_need
    from tests.factories import energy          # energy.cabinet(), energy.operator() ...
    from tests.factories.surveys import charging_survey, answer
    from tests.factories.alliance import resource

Each module's docstring shows its examples. A helper that only one app's tests use stays in
that app's test folder, and builds its people and places from here.
"""
