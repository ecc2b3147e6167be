"""Register the plan search attributes on a server that lacks them (dev server, test server,
a self-hosted cluster). Temporal Cloud namespaces register them with `tcld` instead."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import ALL

_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    SearchAttributeIndexedValueType.INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}

# Per client: whether the server is known to have the attributes (asked once).
_INDEXED: dict[int, bool] = {}


async def _registered(client: Client) -> set[str] | None:
    """Names registered on the server; None where the server cannot say (the test server)."""
    try:
        found = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    return set(found.custom_attributes)


async def ensure_search_attributes(client: Client) -> list[str]:
    """Adds the ones missing; returns their names."""
    registered = await _registered(client)
    missing = {
        key.name: _TYPES[key.indexed_value_type] for key in ALL if registered is None or key.name not in registered
    }
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
            )
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
            missing = {}
    _INDEXED[id(client)] = True
    return sorted(missing)


async def plans_indexed(client: Client) -> bool:
    """Whether starting a plan with its search attributes will be accepted."""
    if id(client) not in _INDEXED:
        try:
            registered = await _registered(client)
        except RPCError:
            registered = None  # not allowed to ask (a cloud API key without that permission)
        _INDEXED[id(client)] = registered is not None and all(key.name in registered for key in ALL)
    return _INDEXED[id(client)]
