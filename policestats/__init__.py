"""Police statistics files (issue 15, pillar 1): the import format and the import itself."""
