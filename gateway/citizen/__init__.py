"""The citizen's door: the map at `/` (read the map, report a threat) and the status page
`/r/<token>`, in Polish and English (gettext domain `map`)."""

from gateway.citizen.pages import CitizenPages, citizen_routes

__all__ = ["CitizenPages", "citizen_routes"]
