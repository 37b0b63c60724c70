/*
 * Exercises the C API on a copy of a LookCoin LevelDB project (run by tests/c_api.rs).
 *
 * Usage: read_fixture <project-root>   (the root holds leveldb/; it is written to)
 * Prints "ok: <check>" per passed check and "FAILED: <check> ..." otherwise;
 * exits 0 when every check passed, 1 otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lookcoin_state.h"

#define LOOKCOIN_ADDRESS "0x5838A9f96E72eA83317D155F31AB660832533bAB"
#define PROBE_ADDRESS "0x1111111111111111111111111111111111111111"
#define PROBE_HASH "0x2222222222222222222222222222222222222222222222222222222222222222"
#define PROBE_RECORD(address)                                                      \
    "{\"contractName\":\"CApiProbe\",\"chainId\":97,\"networkName\":\"bsctestnet\"," \
    "\"address\":\"" address "\",\"factoryByteCodeHash\":\"" PROBE_HASH "\","      \
    "\"timestamp\":1755000000000}"

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

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle)) {
        count++;
    }
    return count;
}

/* Lists a chain and returns how many records the JSON array holds (0 on failure). */
static size_t count_chain(LcsStore *store, uint64_t chain_id, LcsStatus *status)
{
    char *json = NULL;
    *status = lcs_list_contracts(store, chain_id, &json);
    size_t count = json != NULL ? count_occurrences(json, "\"contractName\"") : 0;
    lcs_string_free(json);
    return count;
}

/* Every documented argument check: NULL pointers and invalid UTF-8 are INVALID_ARGUMENT. */
static void check_invalid_arguments(LcsStore *store)
{
    char *json = NULL;
    LcsStore *other = NULL;
    LcsStatus status = lcs_get_contract(NULL, 97, "LookCoin", &json);
    check(status == LCS_STATUS_INVALID_ARGUMENT && lcs_last_error_message() != NULL,
          "a NULL store is INVALID_ARGUMENT with a message", status);
    printf("NULL store message: %s\n", lcs_last_error_message());
    status = lcs_get_contract(store, 97, NULL, &json);
    check(status == LCS_STATUS_INVALID_ARGUMENT && lcs_last_error_message() != NULL,
          "a NULL name is INVALID_ARGUMENT with a message", status);
    status = lcs_get_contract(store, 97, "LookCoin", NULL);
    check(status == LCS_STATUS_INVALID_ARGUMENT, "a NULL json_out is INVALID_ARGUMENT", status);
    status = lcs_list_contracts(store, 97, NULL);
    check(status == LCS_STATUS_INVALID_ARGUMENT, "a NULL list output is INVALID_ARGUMENT", status);
    status = lcs_put_contract(store, NULL);
    check(status == LCS_STATUS_INVALID_ARGUMENT, "a NULL record is INVALID_ARGUMENT", status);
    status = lcs_store_open(NULL, "leveldb", &other);
    check(status == LCS_STATUS_INVALID_ARGUMENT && other == NULL,
          "a NULL root is INVALID_ARGUMENT and no store", status);
    status = lcs_get_contract(store, 97, "\xff", &json);
    check(status == LCS_STATUS_INVALID_ARGUMENT && json == NULL,
          "an invalid UTF-8 name is INVALID_ARGUMENT", status);
    printf("invalid UTF-8 message: %s\n", lcs_last_error_message());
}

/* Writes a new record on chain 97, reads it back, and has a malformed one rejected. */
static void check_writes(LcsStore *store)
{
    LcsStatus status = lcs_put_contract(store, PROBE_RECORD(PROBE_ADDRESS));
    check(status == LCS_STATUS_OK, "put a new record 97-CApiProbe", status);
    char *json = NULL;
    status = lcs_get_contract(store, 97, "CApiProbe", &json);
    printf("97-CApiProbe: %s\n", json != NULL ? json : "(null)");
    check(status == LCS_STATUS_OK && json != NULL && strstr(json, PROBE_ADDRESS) != NULL,
          "read 97-CApiProbe back", status);
    lcs_string_free(json);
    size_t count = count_chain(store, 97, &status);
    check(status == LCS_STATUS_OK && count == 10, "chain 97 lists 10 records after the put", status);

    status = lcs_put_contract(store, PROBE_RECORD("0xefgh"));
    check(status == LCS_STATUS_VALIDATION_FAILED, "an address 0xefgh is VALIDATION_FAILED", status);
    printf("invalid record message: %s\n", lcs_last_error_message());
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <project-root>\n", argv[0]);
        return 1;
    }
    LcsStore *store = NULL;
    LcsStatus status = lcs_store_open(argv[1], "leveldb", &store);
    if (!check(status == LCS_STATUS_OK && store != NULL, "open the project with backend leveldb", status)) {
        return 1;
    }

    char *json = NULL;
    status = lcs_backend_type(store, &json);
    check(status == LCS_STATUS_OK && json != NULL && strcmp(json, "leveldb") == 0,
          "the backend type is leveldb", status);
    lcs_string_free(json);

    status = lcs_get_contract(store, 97, "LookCoin", &json);
    printf("97-LookCoin: %s\n", json != NULL ? json : "(null)");
    check(status == LCS_STATUS_OK && json != NULL && strstr(json, LOOKCOIN_ADDRESS) != NULL,
          "97-LookCoin has address " LOOKCOIN_ADDRESS, status);
    lcs_string_free(json);

    size_t count = count_chain(store, 97, &status);
    printf("chain 97: %zu records\n", count);
    check(status == LCS_STATUS_OK && count == 9, "chain 97 lists 9 records", status);

    char stale[] = "stale";
    json = stale;
    status = lcs_get_contract(store, 97, "NoSuchContract", &json);
    check(status == LCS_STATUS_NOT_FOUND && json == NULL,
          "a missing contract is NOT_FOUND with a NULL json", status);

    check_invalid_arguments(store);
    check_writes(store);

    status = lcs_store_close(store);
    check(status == LCS_STATUS_OK, "close the store", status);
    status = lcs_store_close(NULL);
    check(status == LCS_STATUS_OK, "closing NULL is a no-op", status);

    if (failures > 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
