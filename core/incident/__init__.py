"""The incident input contract: what a caller may send, what is unknown, what is refused, what is flagged.

Why a package of its own
------------------------
The same incident JSON reaches the model from three doors: the severity page
(the call form), ``python -m core predict`` (one object per line) and the HTTP
API. An operator must get the same answer and the same words from each, so the
rules live here once:

* **unknown** -- a field that is absent, ``null`` or ``-1`` is unknown, for
  every field (``0`` too for a code where 0 is not a code of the codebook);
* **refused** -- a value that cannot be used raises ``IncidentError``
  naming the field, with a short French reason (at most
  ``MAX_REASON_LENGTH`` characters, the offending value cut) that says what
  is allowed;
* **flagged** -- a value that can be used but looks wrong (a point outside
  France or far from its department, a commune of another department, a date
  far from the data's years or in the future) is scored and answered with a
  ``warnings`` list, never silently.

Counts are validated as counts (whole numbers in a range), codes against the
official codebook, ``id`` as a JSON string or number that can be echoed back.

Modules (import each name from the module that holds it; this file imports nothing):

- :mod:`core.incident.fields`: the fields, their French names (``FIELD_LABELS``), the limits,
  ``IncidentError`` and how an offending value is shown in a reason;
- :mod:`core.incident.parse`: ``parse_incident`` (unknown, refused), ``parse_id`` and ``echoed_id``;
- :mod:`core.incident.flags`: ``incident_warnings``, what looks wrong but is still scored.
"""
