"""The officers' door: the work list at `/staff` and a report's page `/staff/reports/<id>`, in
Polish and English (gettext domain `staff`). The pages are static shells: what an officer may see
is fetched by their scripts from /graphql with the bearer token the sign-in page keeps in
sessionStorage, so a page without a token shows nothing private."""

from gateway.staff.pages import StaffPages, staff_routes

__all__ = ["StaffPages", "staff_routes"]
