"""Open311 GeoReport v2 (issue 15, point 6): door.py the handlers, render.py JSON and XML."""
