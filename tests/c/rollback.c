/*
 * Exercises the validation and rollback part of the C API (run by tests/c_api.rs).
 *
 * Usage: rollback <project-root>
 *   <project-root> a copy of the LookCoin fixture workspace (it is rolled back to LevelDB)
 * Prints "ok: <check>" per passed check and "FAILED: <check> ..." otherwise;
 * exits 0 when every check passed, 1 otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lookcoin_state.h"

static int failures = 0;

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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: rollback <project-root>\n");
        return 2;
    }
    const char *root = argv[1];
    char *json = NULL;

    LcsStatus status = lcs_validate(root, "{\"backend\":\"unified-json\"}", &json);
    check(status == LCS_STATUS_OK && contains(json, "\"isValid\":false")
              && contains(json, "DUPLICATE_CHAIN_CLAIM"),
          "validation names the two files claiming chainId 23295", status);
    lcs_string_free(json);
    json = NULL;

    status = lcs_validate(root, "{\"level\":\"deep\"}", &json);
    check(status == LCS_STATUS_VALIDATION_FAILED && json == NULL, "an unknown level is VALIDATION_FAILED", status);

    char leveldb_dir[4096];
    snprintf(leveldb_dir, sizeof leveldb_dir,
             "{\"leveldbDir\":\"%s/backups/migration-2025-08-13T11-26-18-516Z/leveldb/current\"}", root);
    status = lcs_compare(root, leveldb_dir, &json);
    check(status == LCS_STATUS_OK && contains(json, "0x5838A9f96E72eA83317D155F31AB660832533bAB")
              && contains(json, "0x8335E3cF6f1ac39841deBA4033a93c81ab738443"),
          "the comparison shows 97-LookCoin's address in LevelDB and in unified JSON", status);
    lcs_string_free(json);
    json = NULL;

    status = lcs_compare(root, "{\"dir\":1}", &json);
    check(status == LCS_STATUS_VALIDATION_FAILED && json == NULL, "an unknown compare option is VALIDATION_FAILED", status);

    status = lcs_rollback(NULL, NULL, &json);
    check(status == LCS_STATUS_INVALID_ARGUMENT && json == NULL, "a NULL root is INVALID_ARGUMENT", status);

    status = lcs_rollback(root, NULL, &json);
    check(status == LCS_STATUS_VALIDATION_FAILED && json == NULL,
          "a rollback without force or a reviewed plan is VALIDATION_FAILED", status);

    status = lcs_rollback(root, "{\"dryRun\":true}", &json);
    check(status == LCS_STATUS_OK && contains(json, "\"status\":\"planned\"")
              && contains(json, "\"planId\":"),
          "a dry run returns the plan", status);
    lcs_string_free(json);
    json = NULL;

    status = lcs_rollback(root, "{\"force\":true,\"incidentId\":\"INC-C-1\"}", &json);
    check(status == LCS_STATUS_OK && contains(json, "\"status\":\"succeeded\"")
              && contains(json, "\"production\":26"),
          "a forced rollback succeeds with 26 production contracts", status);
    lcs_string_free(json);
    json = NULL;

    status = lcs_rollback_validate(root, "{\"contracts\":26,\"chains\":5}", &json);
    check(status == LCS_STATUS_OK && contains(json, "\"ok\":true"), "the rollback validates", status);
    lcs_string_free(json);
    json = NULL;

    status = lcs_rollback_validate(root, "{\"contracts\":\"26\"}", &json);
    check(status == LCS_STATUS_VALIDATION_FAILED && json == NULL,
          "a malformed expectation is VALIDATION_FAILED", status);

    if (failures == 0)
        printf("all checks passed\n");
    return failures == 0 ? 0 : 1;
}
