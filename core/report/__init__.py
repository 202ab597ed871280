"""The planning report: the risk map's current view as an A4 PDF, for planners who take it to a meeting.

A printed map outlives the screen it came from, so the report carries what
the screen only implies: the filter and the map's options in words, the
hotspots, when the accidents happen, the data's limits and the dates of the
data and of the report.

- :mod:`core.report.content`: what one report holds
  (:class:`~core.report.content.ReportContent`, gathered by the page from what
  it shows) and its French lines (options, limits, dates);
- :mod:`core.report.map_image`: the map drawn by matplotlib from the H3 cell
  boundaries, coloured by the classes of the screen's legend, with the
  department outlines and the towns the screen names
  (:mod:`core.maps.towns`) when ``assets/ref/towns.csv`` exists;
- :mod:`core.report.profile_image`: the hour × weekday profile as an image;
- :mod:`core.report.pdf`: the A4 pages laid out by fpdf2
  (:func:`~core.report.pdf.report_pdf`).
"""
