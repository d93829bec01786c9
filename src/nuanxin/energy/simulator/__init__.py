"""Virtual battery-swap cabinets speaking the cabinet protocol over MQTT: a package of its
own that knows the cabinet, not the server. It imports nothing of energy but the protocol
module (an import-linter contract holds it to that); `nuanxin.energy.simulate` mirrors
cabinets of the database into it for `nuanxin energy simulate`, the tests and the benchmark.
"""

from nuanxin.energy.simulator.battery import Faults, SimBattery, SimSlot, parse_faults
from nuanxin.energy.simulator.cabinet import Simulation, VirtualCabinet, demo_hands

__all__ = ["Faults", "SimBattery", "SimSlot", "parse_faults", "Simulation", "VirtualCabinet",
           "demo_hands"]
