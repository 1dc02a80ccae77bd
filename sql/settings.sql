-- tenant_guard.mode and tenant_guard.tenant_columns: defaults, valid
-- values, and every rejected value, which must leave the setting unchanged.
CREATE EXTENSION IF NOT EXISTS tenant_guard;

SHOW tenant_guard.mode;
SHOW tenant_guard.tenant_columns;

SET tenant_guard.mode = enforce;
SHOW tenant_guard.mode;
SET tenant_guard.mode = off;
SHOW tenant_guard.mode;
SET tenant_guard.mode = log;
SHOW tenant_guard.mode;

-- an unknown mode is rejected and changes nothing
SET tenant_guard.mode = enforce;
SET tenant_guard.mode = strict;
SHOW tenant_guard.mode;
SELECT set_config('tenant_guard.mode', 'disabled', false);
SHOW tenant_guard.mode;
RESET tenant_guard.mode;

-- tenant_columns: names are identifiers, unquoted ones fold to lower case
SET tenant_guard.tenant_columns = 'Account_ID, "Workspace"';
SHOW tenant_guard.tenant_columns;
SET tenant_guard.tenant_columns = 'firm_id';
SHOW tenant_guard.tenant_columns;

-- empty lists, syntax errors and duplicates are rejected and change nothing
SET tenant_guard.tenant_columns = '';
SET tenant_guard.tenant_columns = '   ';
SET tenant_guard.tenant_columns = 'org_id,,firm_id';
SET tenant_guard.tenant_columns = 'org_id, "unterminated';
SET tenant_guard.tenant_columns = 'org_id firm_id';
SET tenant_guard.tenant_columns = 'org_id, ORG_ID';
SHOW tenant_guard.tenant_columns;
RESET tenant_guard.tenant_columns;
SHOW tenant_guard.tenant_columns;

-- the prefix is reserved: a misspelt setting is an error, not a placeholder
SET tenant_guard.mdoe = enforce;
