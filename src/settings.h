/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The tenant_guard.* configuration parameters.  See settings.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_SETTINGS_H
#define TENANT_GUARD_SETTINGS_H

#include "tenant_guard.h"

typedef enum GuardMode
{
	GUARD_MODE_OFF,
	GUARD_MODE_LOG,
	GUARD_MODE_ENFORCE
} GuardMode;

/* tenant_guard.tenant_columns, parsed by its check hook. */
typedef struct TenantColumnList
{
	int			count;
	NameData	names[FLEXIBLE_ARRAY_MEMBER];
} TenantColumnList;

typedef enum ClientMessageLevel
{
	CLIENT_MESSAGE_OFF,
	CLIENT_MESSAGE_NOTICE,
	CLIENT_MESSAGE_WARNING
} ClientMessageLevel;

extern int	tenant_guard_mode;
extern int	tenant_guard_amount_mode;
extern int	tenant_guard_client_messages;
extern const TenantColumnList *tenant_column_list;

extern void settings_define(void);

#endif							/* TENANT_GUARD_SETTINGS_H */
