#!/bin/sh
# Registers the namespace cpplan uses and the search attributes its plans set (idempotent).
set -eu
NAMESPACE="${NAMESPACE:-default}"
if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "Namespace $NAMESPACE exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention 30d
  echo "Namespace $NAMESPACE created"
fi
# The names and types of workflows/search_attributes.py.
for attribute in PlanState:Keyword PlanPolicy:Keyword TeamRef:Keyword NextDue:Datetime OverdueCount:Int; do
  name="${attribute%%:*}"
  type="${attribute#*:}"
  if temporal operator search-attribute list --namespace "$NAMESPACE" | grep -qw "$name"; then
    echo "Search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type"
  fi
done
