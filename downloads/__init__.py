"""Open-data downloads (issue 14): snapshots of the public layer as files, their manifest, and
the /downloads door that serves them."""
