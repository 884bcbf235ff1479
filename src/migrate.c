/* migrate.c - schema migrations from plain SQL files.
 *
 * Glossary: a *migration* is a file migrations/NNNN_name.sql; its *version*
 * is NNNN.  Files are never edited once released (their md5 is recorded and
 * checked), only new ones are added.  A file must not contain transaction
 * control of its own: migrate wraps each file in one transaction so that a
 * failing file leaves nothing half-applied.
 */
#include <autoconfig.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrate.h"

/* Any fixed key: all tablecron migrate runs contend on it, nothing else does. */
#define SQL_LOCK "SELECT pg_advisory_lock(hashtext('tablecron.migrate'))"
#define SQL_UNLOCK "SELECT pg_advisory_unlock(hashtext('tablecron.migrate'))"

static const char SQL_BOOTSTRAP[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " applied_by text NOT NULL DEFAULT current_user);"
    "COMMENT ON TABLE schema_migrations IS"
    " 'Schema migrations applied by tablecron migrate, one row per migrations/NNNN_name.sql file';"
    "COMMENT ON COLUMN schema_migrations.version IS 'The NNNN number of the file';"
    "COMMENT ON COLUMN schema_migrations.name IS 'File name, e.g. 0001_init.sql';"
    "COMMENT ON COLUMN schema_migrations.checksum IS"
    " 'md5 of the file as applied; a released migration must never change';"
    "COMMENT ON COLUMN schema_migrations.applied_at IS 'When the file was applied';"
    "COMMENT ON COLUMN schema_migrations.applied_by IS 'Database role that applied it'";

struct migration {
    int version;
    char *name; /* owned */
    char *sql;  /* owned; file contents, loaded on demand */
};

struct migration_list {
    struct migration *items; /* owned */
    size_t count;
};

static void
list_free(struct migration_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].name);
        free(list->items[i].sql);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* NNNN_name.sql with a non-empty name of [a-z0-9_]; version out or -1. */
static int
parse_name(const char *name)
{
    size_t len = strlen(name);
    int version = 0;

    if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
        return -1;
    for (int i = 0; i < 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        version = version * 10 + (name[i] - '0');
    }
    for (size_t i = 5; i < len - 4; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return -1;
    }
    return version;
}

static int
cmp_migration(const void *a, const void *b)
{
    const struct migration *ma = a, *mb = b;

    return (ma->version > mb->version) - (ma->version < mb->version);
}

static int
list_load(const char *dir, struct migration_list *list)
{
    DIR *d;
    struct dirent *de;
    size_t cap = 0;
    int rc = -1;

    list->items = NULL;
    list->count = 0;
    if ((d = opendir(dir)) == NULL) {
        log_error("cannot open migrations directory", "dir=%s error=%s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        int version = parse_name(de->d_name);
        if (version < 0) {
            if (strstr(de->d_name, ".sql") != NULL)
                log_warn("ignoring file not named NNNN_name.sql", "dir=%s file=%s", dir,
                         de->d_name);
            continue;
        }
        if (list->count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct migration *n = realloc(list->items, ncap * sizeof(*n));
            if (n == NULL)
                goto out;
            list->items = n;
            cap = ncap;
        }
        list->items[list->count].version = version;
        list->items[list->count].sql = NULL;
        if ((list->items[list->count].name = strdup(de->d_name)) == NULL)
            goto out;
        list->count++;
    }
    qsort(list->items, list->count, sizeof(*list->items), cmp_migration);
    for (size_t i = 1; i < list->count; i++) {
        if (list->items[i].version == list->items[i - 1].version) {
            log_error("two migrations share a number", "dir=%s first=%s second=%s", dir,
                      list->items[i - 1].name, list->items[i].name);
            goto out;
        }
    }
    if (list->count == 0) {
        log_error("no migrations found", "dir=%s", dir);
        goto out;
    }
    rc = 0;
out:
    closedir(d);
    if (rc < 0)
        list_free(list);
    return rc;
}

static char *
read_file(const char *dir, const char *name)
{
    char path[4096];
    FILE *fp;
    char *buf = NULL;
    long size;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "rb")) == NULL) {
        log_error("cannot read migration", "file=%s error=%s", path, strerror(errno));
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) < 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0)
        goto fail;
    if ((buf = malloc((size_t)size + 1)) == NULL)
        goto fail;
    if (fread(buf, 1, (size_t)size, fp) != (size_t)size)
        goto fail;
    buf[size] = '\0';
    if (strlen(buf) != (size_t)size) {
        log_error("migration contains a NUL byte", "file=%s", path);
        goto fail;
    }
    fclose(fp);
    return buf;
fail:
    if (ferror(fp))
        log_error("cannot read migration", "file=%s error=%s", path, strerror(errno));
    free(buf);
    fclose(fp);
    return NULL;
}

/* Versions and checksums already applied, as a result set (caller clears). */
static PGresult *
applied_rows(struct db *db)
{
    return db_query(db,
                    "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC',"
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations ORDER BY version",
                    DB_NO_PARAMS);
}

static int
find_applied(PGresult *res, int version)
{
    for (int i = 0; i < PQntuples(res); i++) {
        if (atoi(PQgetvalue(res, i, 0)) == version)
            return i;
    }
    return -1;
}

static int
apply_one(struct db *db, const char *dir, struct migration *m)
{
    char version[16];

    if ((m->sql = read_file(dir, m->name)) == NULL)
        return -1;
    snprintf(version, sizeof(version), "%d", m->version);
    if (db_begin(db) < 0)
        return -1;
    if (db_exec_script(db, m->sql) < 0 ||
        db_exec(db,
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, md5($3))",
                DB_PARAMS(version, m->name, m->sql)) < 0 ||
        db_commit(db) < 0) {
        db_rollback(db);
        log_error("migration failed, nothing of it was applied", "file=%s error=%s", m->name,
                  db_last_message(db));
        return -1;
    }
    log_info("applied migration", "file=%s", m->name);
    return 0;
}

/* Applied files must be the files we have: same name, same checksum. */
static int
verify_applied(struct db *db, const char *dir, struct migration_list *list, PGresult *applied)
{
    int rc = 0;

    for (size_t i = 0; i < list->count; i++) {
        struct migration *m = &list->items[i];
        PGresult *sum;
        int row = find_applied(applied, m->version);

        if (row < 0)
            continue;
        if ((m->sql = read_file(dir, m->name)) == NULL)
            return -1;
        sum = db_query(db, "SELECT md5($1)", DB_PARAMS(m->sql));
        if (sum == NULL)
            return -1;
        if (strcmp(PQgetvalue(sum, 0, 0), PQgetvalue(applied, row, 2)) != 0) {
            log_error("migration changed after it was applied: restore the released file",
                      "file=%s applied_as=%s", m->name, PQgetvalue(applied, row, 1));
            rc = -1;
        }
        PQclear(sum);
        free(m->sql);
        m->sql = NULL;
    }
    return rc;
}

int
migrate_apply(struct db *db, const char *dir, int *applied_count)
{
    struct migration_list list = { 0 };
    PGresult *applied = NULL;
    int locked = 0;
    int rc = -1;

    *applied_count = 0;
    if (list_load(dir, &list) < 0)
        goto out;
    log_debug("waiting for the migration lock", NULL);
    if (db_exec(db, SQL_LOCK, DB_NO_PARAMS) < 0)
        goto out;
    locked = 1;
    if (db_exec_script(db, SQL_BOOTSTRAP) < 0)
        goto out;
    if ((applied = applied_rows(db)) == NULL)
        goto out;
    if (verify_applied(db, dir, &list, applied) < 0)
        goto out;
    for (int i = 0; i < PQntuples(applied); i++) {
        int version = atoi(PQgetvalue(applied, i, 0));
        int known = 0;
        for (size_t j = 0; j < list.count; j++)
            known |= list.items[j].version == version;
        if (!known)
            log_warn("database has a migration this tablecron does not know (newer release?)",
                     "file=%s", PQgetvalue(applied, i, 1));
    }
    for (size_t i = 0; i < list.count; i++) {
        if (find_applied(applied, list.items[i].version) >= 0)
            continue;
        if (apply_one(db, dir, &list.items[i]) < 0)
            goto out;
        (*applied_count)++;
    }
    rc = 0;
out:
    if (locked && db_is_connected(db) && db_exec(db, SQL_UNLOCK, DB_NO_PARAMS) < 0)
        rc = -1;
    PQclear(applied);
    list_free(&list);
    return rc;
}

int
migrate_status(struct db *db, const char *dir, FILE *out, int *pending)
{
    struct migration_list list = { 0 };
    PGresult *applied = NULL, *exists = NULL;
    int rc = -1;

    *pending = 0;
    if (list_load(dir, &list) < 0)
        goto out;
    exists = db_query(db, "SELECT to_regclass('schema_migrations') IS NOT NULL", DB_NO_PARAMS);
    if (exists == NULL)
        goto out;
    if (strcmp(PQgetvalue(exists, 0, 0), "t") == 0 && (applied = applied_rows(db)) == NULL)
        goto out;
    for (size_t i = 0; i < list.count; i++) {
        int row = applied != NULL ? find_applied(applied, list.items[i].version) : -1;
        if (row >= 0) {
            fprintf(out, "applied  %s  %s\n", PQgetvalue(applied, row, 3), list.items[i].name);
        } else {
            fprintf(out, "pending  %-20s  %s\n", "-", list.items[i].name);
            (*pending)++;
        }
    }
    for (int i = 0; applied != NULL && i < PQntuples(applied); i++) {
        int version = atoi(PQgetvalue(applied, i, 0));
        int known = 0;
        for (size_t j = 0; j < list.count; j++)
            known |= list.items[j].version == version;
        if (!known)
            fprintf(out, "unknown  %s  %s (applied by a newer tablecron?)\n",
                    PQgetvalue(applied, i, 3), PQgetvalue(applied, i, 1));
    }
    rc = 0;
out:
    PQclear(exists);
    PQclear(applied);
    list_free(&list);
    return rc;
}
