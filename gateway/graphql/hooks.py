"""strawberry's schema extensions run with their hooks wrapped once per extension class, not
once per request.

For each request strawberry makes the extensions afresh (as it should: they keep per-request
state) and, for each of the four hook phases (operation, parsing, validation, execution), looks
at every extension's class: is the hook overridden, is it a generator or an async generator
(`inspect`), and wraps it in `contextlib.contextmanager` around a new bound method, copying its
name and docstring (`functools.update_wrapper`). With our nine extensions that is 36 inspections
and ~12 wrappers a request, ~15 % of the CPU of a public page (bench/RESULTS.md, branch
`gqlfix16`). All of it depends on the class only, so it is done once per class here: a request
then calls the cached `contextmanager(hook)` with its extension, which is exactly what the
wrapped bound method does (`contextmanager(MethodType(hook, ext))()` and `contextmanager(hook)(ext)`
both run `hook(ext)` in a `_GeneratorContextManager`). The extensions, their order, the exit
stacks and every hook's behaviour are strawberry's own; a hook that is a plain function (none of
ours) is left to strawberry's wrapping.
"""

import contextlib
import inspect
from functools import partial
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.utils.await_maybe import await_maybe

# (extension class, hook name) -> (context manager factory taking the extension, is_async), None
# for a hook the class does not override, or _PLAIN for one strawberry wraps itself.
_PLAIN = object()
_HOOKS: dict[tuple[type, str], Any] = {}


def _class_hook(kind: type, name: str) -> Any:
    hook = getattr(kind, name)
    if hook is getattr(SchemaExtension, name):
        return None
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    return _PLAIN


class _CachedHooks(ExtensionContextManagerBase):
    """A hook phase whose wrappers come from the per-class cache."""

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        key = (type(extension), self.HOOK_NAME)
        try:
            known = _HOOKS[key]
        except KeyError:
            known = _HOOKS[key] = _class_hook(*key)
        if known is None:
            return None
        if known is _PLAIN:
            return super().get_hook(extension)
        make, is_async = known
        return WrappedHook(extension=extension, hook=partial(make, extension), is_async=is_async)


class _Operation(_CachedHooks, OperationContextManager):
    pass


class _Parsing(_CachedHooks, ParsingContextManager):
    pass


class _Validation(_CachedHooks, ValidationContextManager):
    pass


class _Executing(_CachedHooks, ExecutingContextManager):
    pass


def _own_results(kind: type) -> bool:
    return kind.get_results is not SchemaExtension.get_results


class CachedHooksRunner(SchemaExtensionsRunner):
    """strawberry's runner with the per-class hook wrappers (streamed results: strawberry's)."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        """strawberry's, without calling the base class's `get_results` (always `{}`)."""
        data: dict[str, Any] = {}
        for extension in self.extensions:
            if _own_results(type(extension)):
                data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data


class CachedHooksSchema(strawberry.Schema):
    """A strawberry Schema whose extensions run through CachedHooksRunner."""

    def create_extensions_runner(self, execution_context: ExecutionContext,
                                 extensions: list[SchemaExtension]) -> SchemaExtensionsRunner:
        return CachedHooksRunner(execution_context=execution_context, extensions=extensions)


__all__ = ["CachedHooksRunner", "CachedHooksSchema"]
