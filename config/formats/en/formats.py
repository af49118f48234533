"""English dates as Reclaim has always written them ("5 March 2025"), not Django's American default
("March 5, 2025"): the other languages use Django's own formats (settings.FORMAT_MODULE_PATH)."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
# Staff lists and timelines: ISO order in English, as before; Spanish and German read theirs (d/m/Y, d.m.Y).
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
