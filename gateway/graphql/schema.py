"""The schema: one Query, Mutation and Subscription merged from the domain modules, with the
limits and error masking as extensions."""

import functools
from collections.abc import AsyncIterator, Iterator

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from starlette.websockets import WebSocket
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types

from gateway.graphql.categories import CatalogueMutation, CatalogueQuery
from gateway.graphql.documents import CheckedDocuments, DocumentChecker
from gateway.graphql.errors import MaskUnexpectedErrors, NoSuggestionsForAnonymous
from gateway.graphql.hooks import CachedHooksSchema
from gateway.graphql.input_text import RefuseUnfitText
from gateway.graphql.list_limit import BoundedListVariables, list_size_rule
from gateway.graphql.police_stats import PoliceStatsQuery
from gateway.graphql.reports import ReportQuery
from gateway.graphql.response_times import ResponseTimeQuery
from gateway.graphql.sql_page import SqlPageExecutor
from gateway.graphql.staff import StaffQuery
from gateway.graphql.stats import StatsQuery
from gateway.graphql.subscriptions import ReportSubscription, StaffSubscription
from gateway.graphql.workflow import WorkflowMutation, WorkflowQuery
from gateway.settings import Settings

Query = merge_types("Query", (CatalogueQuery, ReportQuery, StaffQuery, StatsQuery, WorkflowQuery,
                               ResponseTimeQuery, PoliceStatsQuery))
Mutation = merge_types("Mutation", (WorkflowMutation, CatalogueMutation))
Subscription = merge_types("Subscription", (ReportSubscription, StaffSubscription))


class FreshForEachOperation(SchemaExtension):
    """Over a WebSocket every operation of a connection shares one context: each starts afresh
    (token checked again, empty DataLoaders; Context.start_operation). HTTP requests have a
    context of their own already."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(getattr(context, "request", None), WebSocket):
            await context.start_operation()
        yield


class RefuseBadCredentials(SchemaExtension):
    """A request with a bad, expired or forged token runs nothing: it gets UNAUTHENTICATED
    rather than being served as anonymous."""

    def on_execute(self) -> Iterator[None]:
        error = getattr(self.execution_context.context, "auth_error", None)
        if error is not None:
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def build_schema(settings: Settings) -> strawberry.Schema:
    # The depth, alias and list limits are validation rules; their classes are made once here,
    # not per request, so that the validation cache (keyed by document and rules) can hit: a
    # client paging with the same query text is then parsed and validated once
    # (bench/RESULTS.md, suite graphql). The same extensions run for every operation, over HTTP
    # and over WebSocket (graphql-transport-ws) alike.
    rules = [*QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
             list_size_rule(settings.graphql_max_list_items)]
    if not settings.graphql_introspection:
        rules += DisableIntrospection().validation_rules
    # Parsing and validation, cached, large documents on a worker thread (gateway.graphql.documents)
    checker = DocumentChecker(settings.graphql_large_document_bytes,
                              settings.graphql_large_documents_per_client)
    extensions = [
        FreshForEachOperation,
        RefuseBadCredentials,
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: CheckedDocuments(checker),   # after the two above: it uses their rules and limit
        lambda: BoundedListVariables(settings.graphql_max_list_items),
        RefuseUnfitText,             # after CheckedDocuments: it refuses documents found valid
        MaskUnexpectedErrors,
        NoSuggestionsForAnonymous,   # after CheckedDocuments: it cuts what the cache validated
    ]
    # The anonymous public page of reports is written by PostgreSQL in one statement
    # (gateway.graphql.sql_page), and the pages of reports are completed without graphql-core's
    # per-field machinery (gateway.graphql.precompleted) when their selections allow it: same
    # JSON, same errors, same schema. The extensions' hooks are wrapped once per class
    # (gateway.graphql.hooks), not for each request.
    schema = CachedHooksSchema(query=Query, mutation=Mutation, subscription=Subscription,
                               extensions=extensions, execution_context_class=SqlPageExecutor)
    # The documents it found valid (gateway.graphql.known_page answers the known public page)
    schema.document_checker = checker
    return schema


@functools.cache
def schema_sdl() -> str:
    """The schema in GraphQL's schema definition language (the same whatever the settings: they
    set limits, not types). Committed as gateway/graphql/schema.graphql; a test fails on drift."""
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription).as_str() + "\n"
