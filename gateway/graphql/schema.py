"""The schema: one Query, Mutation and Subscription merged from the domain modules, with the
limits and error masking as extensions."""

from collections.abc import Iterator

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types

from gateway.graphql.categories import CatalogueMutation, CatalogueQuery
from gateway.graphql.errors import MaskUnexpectedErrors, NoSuggestionsForAnonymous
from gateway.graphql.reports import ReportQuery
from gateway.graphql.staff import StaffQuery
from gateway.graphql.stats import StatsQuery
from gateway.graphql.subscriptions import ReportSubscription
from gateway.graphql.workflow import WorkflowMutation, WorkflowQuery
from gateway.settings import Settings

Query = merge_types("Query", (CatalogueQuery, ReportQuery, StaffQuery, StatsQuery, WorkflowQuery))
Mutation = merge_types("Mutation", (WorkflowMutation, CatalogueMutation))
Subscription = merge_types("Subscription", (ReportSubscription,))


class RefuseBadCredentials(SchemaExtension):
    """A request with a bad, expired or forged token runs nothing: it gets UNAUTHENTICATED
    rather than being served as anonymous."""

    def on_execute(self) -> Iterator[None]:
        error = getattr(self.execution_context.context, "auth_error", None)
        if error is not None:
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions = [
        RefuseBadCredentials,
        lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        MaskUnexpectedErrors,
        NoSuggestionsForAnonymous,
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription,
                             extensions=extensions)
