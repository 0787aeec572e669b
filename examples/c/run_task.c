/*
 * Runs an Altogic scheduled task now and follows it to its end.
 *
 *   run_task ENV_URL CLIENT_KEY TASK_NAME_OR_ID [SESSION_TOKEN]
 *
 * Prints each status change (pending, processing, completed or errors), then the final
 * TaskInfo. Exits 0 when the task completed, 1 when it ended in errors, 2 when a call failed.
 *
 * The results are JSON; altogic_json_get reads a field of them by its JSON Pointer
 * ("/info/taskId"), so this example needs no JSON library.
 */
#define _POSIX_C_SOURCE 200809L
#include "altogic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif

/* Copies the value at `pointer` in json into out; 0 when there is none. */
static int json_field(const char *json, const char *pointer, char *out, size_t size) {
    char *value = altogic_json_get(json, pointer);
    int found = value != NULL && strlen(value) < size;
    if (found) strcpy(out, value);
    altogic_string_free(value);
    return found;
}

/* Whether a task call's answer carries errors. */
static int has_errors(const char *result) {
    char *errors = altogic_json_get(result, "/errors");
    int has = errors != NULL;
    altogic_string_free(errors);
    return has;
}

static void sleep_ms(long ms) {
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
#endif
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s ENV_URL CLIENT_KEY TASK_NAME_OR_ID [SESSION_TOKEN]\n", argv[0]);
        return 2;
    }
    char *error = NULL;
    AltogicClient *client = altogic_client_new(argv[1], argv[2], "{\"timeoutMs\":10000}", &error);
    if (!client) {
        fprintf(stderr, "could not create the client: %s\n", error);
        altogic_string_free(error);
        return 2;
    }
    if (argc == 5 && (error = altogic_client_set_session(client, argv[4])) != NULL) {
        fprintf(stderr, "the session token was refused: %s\n", error);
        altogic_string_free(error);
        altogic_client_free(client);
        return 2;
    }

    char *result = altogic_task_run_once(client, argv[3]);
    char task_id[128], status[32], last_status[32] = "";
    if (has_errors(result) || !json_field(result, "/info/taskId", task_id, sizeof task_id)) {
        fprintf(stderr, "runOnce %s failed: %s\n", argv[3], result);
        altogic_string_free(result);
        altogic_client_free(client);
        return 2;
    }
    if (json_field(result, "/info/status", last_status, sizeof last_status))
        printf("%s: %s (execution %s)\n", argv[3], last_status, task_id);
    altogic_string_free(result);

    /* Follow the execution, printing each status change; give up after 60 s. */
    for (int polls = 0; polls < 600; polls++) {
        result = altogic_task_get_status(client, task_id);
        if (has_errors(result) || !json_field(result, "/info/status", status, sizeof status)) {
            fprintf(stderr, "getTaskStatus failed: %s\n", result);
            altogic_string_free(result);
            altogic_client_free(client);
            return 2;
        }
        if (strcmp(status, last_status) != 0) {
            printf("%s: %s\n", argv[3], status);
            fflush(stdout);
            strcpy(last_status, status);
        }
        int done = strcmp(status, "completed") == 0 || strcmp(status, "errors") == 0;
        altogic_string_free(result);
        if (done) break;
        sleep_ms(100);
    }

    /* altogic_task_wait does the same polling in one call; here it returns at once. */
    result = altogic_task_wait(client, task_id, 5000);
    printf("%s: final %s\n", argv[3], result);
    int exit_code = json_field(result, "/info/status", status, sizeof status) &&
                            strcmp(status, "completed") == 0
                        ? 0
                        : 1;
    altogic_string_free(result);
    altogic_client_free(client);
    return exit_code;
}
