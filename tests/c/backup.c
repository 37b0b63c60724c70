/*
 * Exercises the backup part of the C API (run by tests/c_api.rs).
 *
 * Usage: backup <backup-dir> <project-root>
 *   <backup-dir>   a copy of the fixture backup migration-2025-08-13T11-26-18-516Z (only read)
 *   <project-root> a copy of a LookCoin project with leveldb/ (a backup is created in it)
 * Prints "ok: <check>" per passed check and "FAILED: <check> ..." otherwise;
 * exits 0 when every check passed, 1 otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lookcoin_state.h"

static int failures = 0;

/* Reports one check; a failure names the status and the thread's last error message. */
static bool check(bool passed, const char *what, LcsStatus status)
{
    if (passed) {
        printf("ok: %s\n", what);
        return true;
    }
    const char *message = lcs_last_error_message();
    fprintf(stderr, "FAILED: %s (status %s, last error: %s)\n", what, lcs_status_name(status),
            message != NULL ? message : "none");
    failures++;
    return false;
}

static bool contains(const char *json, const char *needle)
{
    return json != NULL && strstr(json, needle) != NULL;
}

/* The fixture backup misses three listed files but holds a complete LevelDB copy. */
static void check_fixture_backup(const char *dir)
{
    char *json = NULL;
    LcsStatus status = lcs_backup_verify(dir, true, &json);
    check(status == LCS_STATUS_OK && json != NULL, "deep-verify the fixture backup", status);
    check(contains(json, "\"status\":\"INCOMPLETE\""), "the fixture backup is INCOMPLETE", status);
    check(contains(json, "\"rollbackReady\":true"), "the fixture backup is rollbackReady", status);
    check(contains(json, "\"missing\":3"), "three listed files are missing", status);
    check(contains(json, "\"total\":28"), "its LevelDB copy holds 28 records", status);
    lcs_string_free(json);

    json = NULL;
    status = lcs_backup_verify(dir, false, &json);
    check(status == LCS_STATUS_OK && contains(json, "\"rollbackReady\":null") &&
              contains(json, "\"bytesHashed\":0"),
          "a structure check reads no bytes and leaves rollbackReady null", status);
    lcs_string_free(json);
}

static void check_invalid_arguments(const char *dir)
{
    char stale[] = "stale";
    char *json = stale;
    LcsStatus status = lcs_backup_verify(NULL, true, &json);
    check(status == LCS_STATUS_INVALID_ARGUMENT && json == NULL && lcs_last_error_message() != NULL,
          "a NULL dir is INVALID_ARGUMENT with a NULL json", status);
    printf("NULL dir message: %s\n", lcs_last_error_message());
    status = lcs_backup_verify(dir, true, NULL);
    check(status == LCS_STATUS_INVALID_ARGUMENT, "a NULL out_json is INVALID_ARGUMENT", status);
    status = lcs_backup_create(NULL, NULL, &json);
    check(status == LCS_STATUS_INVALID_ARGUMENT && json == NULL, "a NULL root is INVALID_ARGUMENT",
          status);
    status = lcs_backup_verify("/nonexistent/lookcoin-backup", true, &json);
    check(status == LCS_STATUS_NOT_FOUND && json == NULL, "an absent backup is NOT_FOUND", status);
}

/* Creates a backup of the project, verifies it, and has bad options refused. */
static void check_create(const char *root)
{
    char *json = NULL;
    LcsStatus status = lcs_backup_create(root, "{\"kind\":\"nightly\"}", &json);
    check(status == LCS_STATUS_VALIDATION_FAILED && json == NULL,
          "kind nightly is VALIDATION_FAILED", status);
    printf("bad kind message: %s\n", lcs_last_error_message());
    status = lcs_backup_create(root, "{\"kind\":", &json);
    check(status == LCS_STATUS_VALIDATION_FAILED, "malformed options are VALIDATION_FAILED", status);

    status = lcs_backup_create(root, "{\"kind\":\"migration\",\"label\":\"from C\"}", &json);
    check(status == LCS_STATUS_OK && contains(json, "\"backupId\":\"migration-") &&
              contains(json, "\"label\":\"from C\"") && contains(json, "\"total\":28"),
          "create a migration backup of 28 records", status);
    if (json == NULL) {
        return;
    }
    /* The path is the first field: {"path":"<dir>",... (no escapes in a temp path). */
    const char *start = strstr(json, "\"path\":\"");
    char path[4096] = {0};
    if (start != NULL) {
        start += strlen("\"path\":\"");
        const char *end = strchr(start, '"');
        if (end != NULL && (size_t)(end - start) < sizeof path) {
            memcpy(path, start, (size_t)(end - start));
        }
    }
    lcs_string_free(json);
    check(path[0] != '\0', "the result names the backup folder", status);
    printf("created: %s\n", path);

    json = NULL;
    status = lcs_backup_verify(path, true, &json);
    check(status == LCS_STATUS_OK && contains(json, "\"status\":\"PASSED\"") &&
              contains(json, "\"rollbackReady\":true"),
          "the new backup verifies PASSED and rollbackReady", status);
    lcs_string_free(json);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <backup-dir> <project-root>\n", argv[0]);
        return 1;
    }
    check_fixture_backup(argv[1]);
    check_invalid_arguments(argv[1]);
    check_create(argv[2]);

    if (failures > 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
