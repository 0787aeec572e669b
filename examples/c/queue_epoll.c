/*
 * queue_epoll: many task calls at once from one thread, with a completion queue and epoll.
 *
 *   queue_epoll ENV_URL CLIENT_KEY TASK [N]
 *
 * Starts N runOnce calls of TASK (default 8) without waiting for any; as each one's result
 * comes, starts a wait for the execution it began; prints every result as it comes, and
 * exits 0 once every execution completed (1 if any failed or ended in errors).
 *
 * The program's loop is its own: it watches the queue's descriptor with epoll next to
 * whatever else it watches (here, only a timer of its own), and drains the queue with
 * altogic_queue_next(queue, 0, &tag) whenever the descriptor is readable. No thread of the
 * program blocks on the network; the library runs the calls on its own thread.
 */
#define _GNU_SOURCE
#include "altogic.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Tags say what a result is: runOnce of execution i is 2i, its wait 2i+1. */
#define RUN_TAG(i) ((uint64_t)(i) * 2)
#define WAIT_TAG(i) ((uint64_t)(i) * 2 + 1)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* info.taskId of a result; strstr keeps the example short (use your JSON library). */
static int task_id_of(const char *result, char *out, size_t size) {
    const char *at = strstr(result, "\"taskId\":\"");
    if (!at || strstr(result, "\"errors\":null}") == NULL) return 0;
    at += strlen("\"taskId\":\"");
    size_t n = strcspn(at, "\"");
    if (n == 0 || n >= size) return 0;
    memcpy(out, at, n);
    out[n] = '\0';
    return 1;
}

/* Starts a call; a refused start (a NULL queue, a queue being freed) is an APIError. */
static int started(char *refused) {
    if (refused == NULL) return 1;
    fprintf(stderr, "start refused: %s\n", refused);
    altogic_string_free(refused);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s ENV_URL CLIENT_KEY TASK [N]\n", argv[0]);
        return 2;
    }
    int n = argc > 4 ? atoi(argv[4]) : 8;
    if (n < 1 || n > 100000) n = 8;

    char *error = NULL;
    AltogicClient *client = altogic_client_new(argv[1], argv[2], NULL, &error);
    if (!client) {
        fprintf(stderr, "%s\n", error);
        altogic_string_free(error);
        return 2;
    }
    AltogicQueue *queue = altogic_queue_new(&error);
    if (!queue) {
        fprintf(stderr, "%s\n", error);
        altogic_string_free(error);
        altogic_client_free(client);
        return 2;
    }

    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event watch = {.events = EPOLLIN, .data = {.u64 = 0}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, altogic_queue_fd(queue), &watch);

    double start = now_ms();
    int pending = 0, completed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (started(altogic_task_run_once_start(client, argv[3], queue, RUN_TAG(i), NULL))) pending++;
        else failed++;
    }
    printf("started %d runOnce calls of %s in %.1f ms\n", pending, argv[3], now_ms() - start);

    while (pending > 0) {
        struct epoll_event events[4];
        int ready = epoll_wait(epoll, events, 4, 60000);
        if (ready == 0) {
            fprintf(stderr, "nothing came for 60 s\n");
            break;
        }
        if (ready < 0) continue; /* EINTR */
        /* Readiness is a hint: take everything that waits, then go back to epoll. */
        uint64_t tag;
        char *result;
        while ((result = altogic_queue_next(queue, 0, &tag)) != NULL) {
            uint64_t i = tag / 2;
            pending--;
            if (tag % 2 == 0) {
                char task_id[128];
                printf("%7.1f ms  #%llu runOnce  %s\n", now_ms() - start, (unsigned long long)i, result);
                if (task_id_of(result, task_id, sizeof task_id) &&
                    started(altogic_task_wait_start(client, task_id, 60000, queue, WAIT_TAG(i), NULL)))
                    pending++;
                else
                    failed++;
            } else {
                int done = strstr(result, "\"status\":\"completed\"") && strstr(result, "\"errors\":null}");
                printf("%7.1f ms  #%llu wait     %s\n", now_ms() - start, (unsigned long long)i, result);
                if (done) completed++;
                else failed++;
            }
            altogic_string_free(result);
        }
    }
    printf("%d of %d executions completed, %d failed, in %.1f ms\n", completed, n, failed, now_ms() - start);

    close(epoll);
    /* Cancels whatever still runs (nothing, unless the loop gave up) and frees it all. */
    altogic_queue_free(queue);
    altogic_client_free(client);
    return completed == n ? 0 : 1;
}
