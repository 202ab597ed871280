"""eCall intake: a vehicle's Minimum Set of Data (EN 15722) read, checked and mapped to an incident.

Modules (import each name from the module that holds it; this file imports nothing):

- :mod:`core.ecall.msd`: ``read_msd``, the message checked field by field (``Msd``);
- :mod:`core.ecall.mapping`: ``incident_from_msd``, the one mapping to an incident (``EcallIncident``),
  the vehicle classes' ``catv`` codes and the README's table;
- :mod:`core.ecall.locate`: a point's department, commune and time zone;
- :mod:`core.ecall.sun`: the sun's elevation and the BAAC light code it gives;
- :mod:`core.ecall.simulate`: the MSD a past accident's vehicle would have sent (for the model's evaluation).
"""
