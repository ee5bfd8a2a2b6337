-- One database per service: each service owns its database and nobody else reads it (ARCHITECTURE.md).
-- The postgres image runs this file once, on the first start with an empty data volume. It is idempotent,
-- so after adding a service below an existing volume takes it with:
--   docker compose exec -T postgres psql -U eastwest -d postgres < deploy/postgres/init.sql
-- Keep this list in step with eastwest/services.py and k8s/base (a Database per service folder). feed stays
-- last: the postgres healthcheck in docker-compose.yml names it.
SELECT 'CREATE DATABASE stations' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'stations')\gexec
SELECT 'CREATE DATABASE demand' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'demand')\gexec
SELECT 'CREATE DATABASE supply' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'supply')\gexec
SELECT 'CREATE DATABASE training' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'training')\gexec
SELECT 'CREATE DATABASE matching' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'matching')\gexec
SELECT 'CREATE DATABASE bus' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'bus')\gexec
SELECT 'CREATE DATABASE monitoring' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'monitoring')\gexec
SELECT 'CREATE DATABASE policy' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'policy')\gexec
SELECT 'CREATE DATABASE feed' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'feed')\gexec
