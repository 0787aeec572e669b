/*
 * The completion queue under load, against the emulator (bench/queue/run.sh starts it).
 *
 *   queue_bench ENV_URL CLIENT_KEY [WAITS [TIMEOUT_MS [TASK [EXECUTIONS [CANCELLED]]]]]
 *
 * 1. Starts EXECUTIONS (default 1000) runOnce calls of TASK (default slowReport, ~5 s each;
 *    the emulator runs 4 at a time, so the others stay pending) through a queue.
 * 2. Starts WAITS (default 10000) waits with a TIMEOUT_MS (default 1000) timeout on those
 *    executions, round robin, all at once on one queue, and drains it from an epoll loop;
 *    prints the wall time from the first start to the last result, the outcomes, the
 *    library threads (Threads of /proc/self/status beyond this program's one) and the peak
 *    resident memory (VmHWM).
 * 3. Starts CANCELLED (default 1000) waits with no deadline sharing one token, triggers it,
 *    and prints how long after the trigger the last result came.
 *
 * Prints PASS or MISS for each target: phase 2 within 3 s, at most 4 library threads,
 * VmHWM under 128 MiB; phase 3 within 200 ms of the trigger. Exits 1 if a result is
 * missing or malformed (a MISS alone does not fail it: figures depend on the machine).
 */
#define _GNU_SOURCE
#include "altogic.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* A numeric field of /proc/self/status ("Threads:", "VmRSS:", "VmHWM:"), or -1. */
static long proc_status(const char *field) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, field, strlen(field)) == 0) value = atol(line + strlen(field));
    if (status) fclose(status);
    return value;
}

struct outcome {
    int got, completed, timeout, cancelled, other;
    long peak_threads;
};

/* Takes `count` results from an epoll loop on the queue's descriptor (each tag < limit,
   counted in seen[]), for at most `limit_ms`. */
static void drain(AltogicQueue *queue, int epoll, int count, unsigned char *seen, uint64_t limit,
                  double limit_ms, struct outcome *out, char ***keep) {
    double until = now_ms() + limit_ms;
    while (out->got < count && now_ms() < until) {
        struct epoll_event event;
        if (epoll_wait(epoll, &event, 1, 100) <= 0) continue;
        long threads = proc_status("Threads:");
        if (threads > out->peak_threads) out->peak_threads = threads;
        uint64_t tag;
        char *r;
        while ((r = altogic_queue_next(queue, 0, &tag)) != NULL) {
            out->got++;
            if (tag < limit && seen) seen[tag]++;
            if (strstr(r, "\"code\":\"timeout\"")) out->timeout++;
            else if (strstr(r, "\"code\":\"cancelled\"")) out->cancelled++;
            else if (strstr(r, "\"errors\":null}")) out->completed++;
            else {
                if (out->other < 3) fprintf(stderr, "unexpected result: %s\n", r);
                out->other++;
            }
            if (keep && tag < limit) (*keep)[tag] = r;
            else altogic_string_free(r);
        }
    }
}

static const char *verdict(int pass) { return pass ? "PASS" : "MISS"; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ENV_URL CLIENT_KEY [WAITS [TIMEOUT_MS [TASK [EXECUTIONS [CANCELLED]]]]]\n", argv[0]);
        return 2;
    }
    int waits = argc > 3 ? atoi(argv[3]) : 10000;
    int timeout_ms = argc > 4 ? atoi(argv[4]) : 1000;
    const char *task = argc > 5 ? argv[5] : "slowReport";
    int executions = argc > 6 ? atoi(argv[6]) : 1000;
    int cancelled_waits = argc > 7 ? atoi(argv[7]) : 1000;
    if (waits < 1 || executions < 1 || cancelled_waits < 0 || timeout_ms < 0) return 2;
    int failed = 0;

    long threads_at_start = proc_status("Threads:");
    char *error = NULL;
    AltogicClient *client = altogic_client_new(argv[1], argv[2], NULL, &error);
    AltogicQueue *queue = client ? altogic_queue_new(&error) : NULL;
    if (!queue) {
        fprintf(stderr, "%s\n", error ? error : "no client");
        return 2;
    }
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event watch = {.events = EPOLLIN, .data = {.u64 = 0}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, altogic_queue_fd(queue), &watch);

    /* 1. The executions the waits follow. */
    char **runs = calloc((size_t)executions, sizeof *runs);
    char (*ids)[64] = calloc((size_t)executions, sizeof *ids);
    double started = now_ms();
    for (int i = 0; i < executions; i++)
        altogic_string_free(altogic_task_run_once_start(client, task, queue, (uint64_t)i, NULL));
    struct outcome setup = {0};
    drain(queue, epoll, executions, NULL, (uint64_t)executions, 60000, &setup, &runs);
    int have = 0;
    for (int i = 0; i < executions; i++) {
        const char *at = runs[i] ? strstr(runs[i], "\"taskId\":\"") : NULL;
        if (at && sscanf(at + strlen("\"taskId\":\""), "%63[^\"]", ids[have]) == 1) have++;
        altogic_string_free(runs[i]);
    }
    free(runs);
    printf("setup: %d runOnce %s through the queue in %.0f ms (%d with a taskId)\n", executions, task,
           now_ms() - started, have);
    if (have == 0) return 1;

    /* 2. The waits. */
    unsigned char *seen = calloc((size_t)waits, 1);
    started = now_ms();
    int refused = 0;
    for (int i = 0; i < waits; i++) {
        char *r = altogic_task_wait_start(client, ids[i % have], (uint64_t)timeout_ms, queue, (uint64_t)i, NULL);
        refused += r != NULL;
        altogic_string_free(r);
    }
    double start_took = now_ms() - started;
    struct outcome run = {0};
    run.peak_threads = proc_status("Threads:");
    drain(queue, epoll, waits - refused, seen, (uint64_t)waits, 60000, &run, NULL);
    double wall = now_ms() - started;
    int once = 0;
    for (int i = 0; i < waits; i++) once += seen[i] == 1;
    free(seen);
    long library_threads = run.peak_threads - threads_at_start;
    long hwm_kib = proc_status("VmHWM:"), rss_kib = proc_status("VmRSS:");
    printf("waits: %d waits (timeout %d ms) on %d executions: started in %.0f ms, all results in %.0f ms\n",
           waits, timeout_ms, have, start_took, wall);
    printf("waits: outcomes %d completed, %d timeout, %d other; %d of %d tags seen exactly once\n",
           run.completed, run.timeout, run.other, once, waits);
    printf("waits: library threads at most %ld; peak resident memory (VmHWM) %.1f MiB, now %.1f MiB\n",
           library_threads, hwm_kib / 1024.0, rss_kib / 1024.0);
    printf("target: %d waits within 3 s: %.0f ms %s\n", waits, wall, verdict(wall <= 3000));
    printf("target: at most 4 library threads: %ld %s\n", library_threads, verdict(library_threads <= 4));
    printf("target: peak resident memory under 128 MiB: %.1f MiB %s\n", hwm_kib / 1024.0,
           verdict(hwm_kib < 128 * 1024));
    if (refused || once != waits || run.other) failed = 1;

    /* 3. Waits sharing one token. */
    if (cancelled_waits > 0) {
        AltogicCancel *token = altogic_cancel_new();
        for (int i = 0; i < cancelled_waits; i++)
            altogic_string_free(altogic_task_wait_start(client, ids[i % have], ALTOGIC_WAIT_FOREVER, queue,
                                                        (uint64_t)i, token));
        struct outcome early = {0};
        drain(queue, epoll, cancelled_waits, NULL, 0, 500, &early, NULL); /* none should end */
        double triggered = now_ms();
        altogic_cancel_trigger(token);
        struct outcome cancel = early;
        drain(queue, epoll, cancelled_waits, NULL, 0, 10000, &cancel, NULL);
        double took = now_ms() - triggered;
        printf("cancel: %d waits sharing one token: the last result came %.1f ms after the trigger "
               "(%d cancelled, %d ended before it)\n",
               cancelled_waits, took, cancel.cancelled, early.got);
        printf("target: %d waits end within 200 ms of their token's trigger: %.1f ms %s\n", cancelled_waits, took,
               verdict(took <= 200));
        if (cancel.got != cancelled_waits) failed = 1;
        altogic_cancel_free(token);
    }

    free(ids);
    double freeing = now_ms();
    altogic_queue_free(queue);
    printf("free: altogic_queue_free took %.1f ms\n", now_ms() - freeing);
    altogic_client_free(client);
    return failed;
}
