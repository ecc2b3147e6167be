"""Register the plan search attributes on a server that lacks them (dev server, test server,
a self-hosted cluster). Temporal Cloud namespaces register them with `tcld` instead."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType

from workflows.search_attributes import ALL

_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    SearchAttributeIndexedValueType.INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


async def ensure_search_attributes(client: Client) -> list[str]:
    """Adds the ones missing; returns their names."""
    known = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=client.namespace))
    missing = {key.name: _TYPES[key.indexed_value_type] for key in ALL if key.name not in known.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
