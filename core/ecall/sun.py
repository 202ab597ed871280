"""Where the sun stands at a place and a moment, and the BAAC light code it gives.

Why a module of its own
-----------------------
An eCall message gives a place and a UTC time but says nothing of the light,
which the model reads (BAAC ``lum``). Day, dusk and dawn follow from the sun's
elevation, computed here with the low-precision formulas of the Astronomical
Almanac (about 0.01 degree from 1950 to 2050, far below what separates day
from dusk). Night is another matter: BAAC splits it by street lighting
(``lum`` 3, 4, 5), which the sun cannot tell, so night gives no code.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Unix time of the J2000.0 epoch (2000-01-01 12:00 UTC), in seconds.
_J2000_UNIX: Final = 946_728_000.0
_SECONDS_PER_DAY: Final = 86_400.0

#: BAAC ``lum`` codes the sun can tell.
FULL_DAY: Final = 1  # "Plein jour"
DUSK_OR_DAWN: Final = 2  # "Crépuscule ou aube"
#: Elevations (degrees) bounding dusk and dawn: from the first up, full day; below the second, night.
#: Read from BAAC 2019-2020, where the recorded light changes majority: "Crépuscule ou aube" leads
#: from about -4 degrees (civil twilight ends at -6) to the geometric horizon (the apparent sunrise is
#: at -0.83); ``bench/ecall.py`` prints how the recorded light agrees.
DAY_FROM: Final = 0.0
NIGHT_BELOW: Final = -4.0


def solar_elevation(unix_seconds: np.ndarray | float, lat: np.ndarray | float, lon: np.ndarray | float
                    ) -> np.ndarray:
    """The sun's elevation above the horizon, in degrees, without refraction.

    Parameters
    ----------
    unix_seconds : array_like
        Moments as seconds since 1970-01-01 UTC.
    lat, lon : array_like
        Places in decimal degrees (north and east positive).

    Returns
    -------
    numpy.ndarray
        Degrees, from -90 (sun straight below) to 90 (straight above).

    Examples
    --------
    At noon on the Greenwich meridian, hours after the March 2020 equinox (the
    sun's declination is then +0.2 degree), the sun stands at 90 degrees minus
    the latitude, plus 0.2:

    >>> import datetime as dt
    >>> noon = dt.datetime(2020, 3, 20, 12, 7, tzinfo=dt.timezone.utc).timestamp()
    >>> round(float(solar_elevation(noon, 51.48, 0.0)), 1)
    38.7
    """
    days = (np.asarray(unix_seconds, dtype=float) - _J2000_UNIX) / _SECONDS_PER_DAY
    mean_longitude = np.radians((280.460 + 0.9856474 * days) % 360.0)
    anomaly = np.radians((357.528 + 0.9856003 * days) % 360.0)
    ecliptic = mean_longitude + np.radians(1.915 * np.sin(anomaly) + 0.020 * np.sin(2 * anomaly))
    obliquity = np.radians(23.439 - 0.0000004 * days)
    right_ascension = np.arctan2(np.cos(obliquity) * np.sin(ecliptic), np.cos(ecliptic))
    declination = np.arcsin(np.sin(obliquity) * np.sin(ecliptic))
    sidereal_hours = (18.697374558 + 24.06570982441908 * days) % 24.0
    hour_angle = np.radians(sidereal_hours * 15.0 + np.asarray(lon, dtype=float)) - right_ascension
    latitude = np.radians(np.asarray(lat, dtype=float))
    sine = (np.sin(latitude) * np.sin(declination)
            + np.cos(latitude) * np.cos(declination) * np.cos(hour_angle))
    return np.degrees(np.arcsin(np.clip(sine, -1.0, 1.0)))


def light_code(elevation: np.ndarray | float) -> np.ndarray:
    """The BAAC ``lum`` code the sun's elevation gives: 1 full day, 2 dusk or dawn, 0 night (code unknown).

    Examples
    --------
    >>> light_code(np.array([30.0, -0.5, -3.0, -12.0])).tolist()
    [1, 2, 2, 0]
    """
    elevation = np.asarray(elevation, dtype=float)
    return np.where(elevation >= DAY_FROM, FULL_DAY, np.where(elevation >= NIGHT_BELOW, DUSK_OR_DAWN, 0))
