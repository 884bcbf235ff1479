/* migrate.h - apply migrations/NNNN_name.sql in order, once each.
 *
 * Each file runs in its own transaction, under a session advisory lock so
 * that concurrent `tablecron migrate` runs serialise, and is recorded in
 * schema_migrations with a checksum: a released file that was edited later is
 * reported instead of silently skipped.
 */
#ifndef TC_MIGRATE_H
#define TC_MIGRATE_H

#include <stdio.h>

#include "common.h"
#include "db.h"

/* The schema this binary needs: the number of the newest file in
 * migrations/ (tests/integration/migrate.sh checks that they agree). */
#define MIGRATE_SCHEMA_VERSION 9

/* Apply pending files from dir; *applied receives how many ran. */
int migrate_apply(struct db *db, const char *dir, int *applied) TC_MUST_CHECK;

/* Print one line per migration ("applied 2026-… 0001_init.sql" or
 * "pending 0002_x.sql"); *pending receives the number not yet applied. */
int migrate_status(struct db *db, const char *dir, FILE *out, int *pending) TC_MUST_CHECK;

#endif
