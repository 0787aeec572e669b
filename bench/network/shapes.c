/*
 * The "real network" shapes through the C ABI (bench/network): one AltogicClient, runOnce
 * calls, each call's latency recorded.
 *
 *   shapes pool URL THREADS ROUNDS        THREADS pthreads taking turns: in each round each
 *                                         thread makes one call, one after another, so one
 *                                         call at a time in the process (THREADS x ROUNDS calls)
 *   shapes poller URL CALLS INTERVAL_S    the calling thread, one call every INTERVAL_S seconds
 *
 * The CA is trusted through SSL_CERT_FILE (set by bench/network/network.py), as a user would.
 * Prints one JSON object on stdout: {"latency_us":[...],"errors":N,"first_error":"..."}.
 * Every answer is checked: {"info":{... ending with "errors":null}; anything else is an error.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "altogic.h"

#define CLIENT_KEY "demo-client-key"
#define TASK "billOnDemand"
#define MAX_CALLS 10000

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int answer_ok(const char *r) {
    static const char head[] = "{\"info\":{";
    static const char tail[] = "\"errors\":null}";
    size_t n = strlen(r);
    return strncmp(r, head, sizeof head - 1) == 0 && n >= sizeof tail - 1 &&
           strcmp(r + n - (sizeof tail - 1), tail) == 0;
}

static const AltogicClient *client;
static uint64_t latency_ns[MAX_CALLS];
static size_t calls;
static unsigned long errors;
static char first_error[512];

/* One call; only ever one at a time (the turn or the single thread), so no lock is needed. */
static void one_call(void) {
    uint64_t t0 = now_ns();
    char *r = altogic_task_run_once(client, TASK);
    uint64_t t1 = now_ns();
    if (!answer_ok(r) && errors++ == 0) snprintf(first_error, sizeof first_error, "%s", r);
    altogic_string_free(r);
    if (calls < MAX_CALLS) latency_ns[calls++] = t1 - t0;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long turn, turns;
static int threads;

static void *pool_worker(void *arg) {
    long me = (long)(intptr_t)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (turn < turns && turn % threads != me) pthread_cond_wait(&turn_changed, &lock);
        if (turn >= turns) break;
        pthread_mutex_unlock(&lock);
        one_call();
        pthread_mutex_lock(&lock);
        turn++;
        pthread_cond_broadcast(&turn_changed);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "pool") != 0 && strcmp(argv[1], "poller") != 0)) {
        fprintf(stderr, "usage: %s pool URL THREADS ROUNDS | poller URL CALLS INTERVAL_S\n", argv[0]);
        return 2;
    }
    char *error = NULL;
    AltogicClient *c = altogic_client_new(argv[2], CLIENT_KEY, NULL, &error);
    if (!c) {
        fprintf(stderr, "altogic_client_new: %s\n", error ? error : "?");
        altogic_string_free(error);
        return 1;
    }
    client = c;
    if (strcmp(argv[1], "pool") == 0) {
        threads = atoi(argv[3]);
        turns = (long)threads * atol(argv[4]);
        if (threads < 1 || threads > 256 || turns < 1 || turns > MAX_CALLS) return 2;
        pthread_t ts[256];
        for (long i = 0; i < threads; i++) pthread_create(&ts[i], NULL, pool_worker, (void *)(intptr_t)i);
        for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);
    } else {
        long n = atol(argv[3]);
        double interval = atof(argv[4]);
        if (n < 1 || n > MAX_CALLS || interval < 0) return 2;
        uint64_t start = now_ns();
        for (long i = 0; i < n; i++) {
            uint64_t due = start + (uint64_t)((double)i * interval * 1e9);
            for (uint64_t now = now_ns(); now < due; now = now_ns()) {
                struct timespec ts = {(time_t)((due - now) / 1000000000u), (long)((due - now) % 1000000000u)};
                nanosleep(&ts, NULL);
            }
            one_call();
        }
    }
    printf("{\"latency_us\":[");
    for (size_t i = 0; i < calls; i++) printf("%s%.1f", i ? "," : "", (double)latency_ns[i] / 1000.0);
    printf("],\"errors\":%lu,\"first_error\":", errors);
    json_string(first_error);
    printf("}\n");
    altogic_client_free(c);
    return 0;
}
