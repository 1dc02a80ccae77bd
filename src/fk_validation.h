/*-------------------------------------------------------------------------
 *
 * fk_validation.h
 *	  Recognises the query ALTER TABLE runs to validate a foreign key.
 *	  See fk_validation.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_FK_VALIDATION_H
#define TENANT_GUARD_FK_VALIDATION_H

#include "tenant_guard.h"

#include "nodes/parsenodes.h"

extern bool is_foreign_key_validation_query(Query *parse);

#endif							/* TENANT_GUARD_FK_VALIDATION_H */
