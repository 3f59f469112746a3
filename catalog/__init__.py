"""The open-data door: the DCAT-AP catalogue (/catalog) and the Atom feeds (/feeds)."""
