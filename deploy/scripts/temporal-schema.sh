#!/bin/sh
# Creates Temporal's two databases on first start and applies any schema upgrades (idempotent).
set -eu
EP=temporal-postgresql
for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir=temporal ;;
    temporal_visibility) dir=visibility ;;
  esac
  temporal-sql-tool --plugin postgres12 --ep "$EP" -u temporal -p 5432 --db "$db" create || true
  temporal-sql-tool --plugin postgres12 --ep "$EP" -u temporal -p 5432 --db "$db" setup-schema -v 0.0 || true
  temporal-sql-tool --plugin postgres12 --ep "$EP" -u temporal -p 5432 --db "$db" \
    update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
echo "Temporal schemas are up to date"
