"""The developers' door: GraphQL at /graphql. The ASGI app is in gateway.graphql.app; the schema
is one module per domain (reports, categories, stats, workflow, staff, subscriptions)."""
