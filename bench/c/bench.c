/*
 * The C ABI's benchmark: runOnce calls per second and per-call latency, from the calling
 * thread alone or from N pthreads sharing one client; client create + free; resident memory
 * after 10,000 and 100,000 calls.
 *
 *   bench run URL SECONDS THREADS...   e.g. bench run http://127.0.0.1:8080 2 0 1 2 4 8
 *                                      (0: sequential, on the calling thread)
 *   bench createfree PAIRS             altogic_client_new + altogic_client_free, PAIRS times
 *   bench rss URL                      VmRSS after 10,000 and after 100,000 sequential calls
 *   bench log URL SECONDS              CPU per sequential call with no log callback, one at
 *                                      ALTOGIC_LOG_ERROR (nothing to log: the cost of logging
 *                                      off) and one at ALTOGIC_LOG_DEBUG (a record per request),
 *                                      in alternating rounds
 *
 * Prints one JSON object per line on stdout. Every answer is checked: it must start with
 * {"info":{ and end with "errors":null}; anything else counts as an error (the first one is
 * printed). Exit status 1 on bad usage or when the client cannot be made.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "altogic.h"

#define CLIENT_KEY "demo-client-key"
#define TASK "billOnDemand"
#define WARMUP_SECONDS 0.2

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* user + system CPU time of the whole process (every thread), ns */
static uint64_t process_cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static int answer_ok(const char *r) {
    static const char head[] = "{\"info\":{";
    static const char tail[] = "\"errors\":null}";
    size_t n = strlen(r);
    return strncmp(r, head, sizeof head - 1) == 0 && n >= sizeof tail - 1 &&
           strcmp(r + n - (sizeof tail - 1), tail) == 0;
}

typedef struct {
    const AltogicClient *client;
    uint64_t deadline;
    uint64_t *lat; /* per-call latency, ns */
    size_t n, cap;
    uint64_t errors;
    char first_error[512];
    pthread_barrier_t *start;
} worker_t;

static void *worker(void *arg) {
    worker_t *w = arg;
    if (w->start) pthread_barrier_wait(w->start);
    for (;;) {
        uint64_t t0 = now_ns();
        if (t0 >= w->deadline) break;
        char *r = altogic_task_run_once(w->client, TASK);
        uint64_t t1 = now_ns();
        if (!answer_ok(r)) {
            if (w->errors++ == 0) snprintf(w->first_error, sizeof w->first_error, "%s", r);
        }
        altogic_string_free(r);
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 65536;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            if (!w->lat) abort();
        }
        w->lat[w->n++] = t1 - t0;
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_us(const uint64_t *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)sorted[i] / 1000.0;
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

/* One cell: `threads` threads (0: the calling thread) calling for `seconds`. */
static void run_cell(const AltogicClient *client, int threads, double seconds, int report) {
    int n = threads > 0 ? threads : 1;
    worker_t *ws = calloc((size_t)n, sizeof *ws);
    pthread_t *ts = calloc((size_t)n, sizeof *ts);
    pthread_barrier_t start;
    if (threads > 0) pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < n; i++) {
        ws[i].client = client;
        ws[i].deadline = UINT64_MAX;
        ws[i].start = threads > 0 ? &start : NULL;
    }
    uint64_t t0, cpu0;
    if (threads == 0) {
        cpu0 = process_cpu_ns();
        t0 = now_ns();
        ws[0].deadline = t0 + (uint64_t)(seconds * 1e9);
        worker(&ws[0]);
    } else {
        for (int i = 0; i < n; i++) pthread_create(&ts[i], NULL, worker, &ws[i]);
        cpu0 = process_cpu_ns();
        t0 = now_ns();
        for (int i = 0; i < n; i++) ws[i].deadline = t0 + (uint64_t)(seconds * 1e9);
        pthread_barrier_wait(&start);
        for (int i = 0; i < n; i++) pthread_join(ts[i], NULL);
        pthread_barrier_destroy(&start);
    }
    double elapsed = (double)(now_ns() - t0) / 1e9;
    double cpu_us = (double)(process_cpu_ns() - cpu0) / 1e3;
    size_t total = 0;
    uint64_t errors = 0;
    const char *first_error = "";
    for (int i = 0; i < n; i++) {
        total += ws[i].n;
        errors += ws[i].errors;
        if (ws[i].errors && !*first_error) first_error = ws[i].first_error;
    }
    if (report) {
        uint64_t *all = malloc((total ? total : 1) * sizeof *all);
        size_t k = 0;
        for (int i = 0; i < n; i++) {
            memcpy(all + k, ws[i].lat, ws[i].n * sizeof *all);
            k += ws[i].n;
        }
        qsort(all, total, sizeof *all, cmp_u64);
        printf("{\"threads\":%d,\"calls\":%zu,\"seconds\":%.6f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
               "\"cpu_us_per_call\":%.2f,\"errors\":%llu,\"first_error\":",
               threads, total, elapsed, percentile_us(all, total, 50), percentile_us(all, total, 99),
               total ? cpu_us / (double)total : 0.0, (unsigned long long)errors);
        json_string(first_error);
        printf("}\n");
        fflush(stdout);
        free(all);
    }
    for (int i = 0; i < n; i++) free(ws[i].lat);
    free(ws);
    free(ts);
}

static AltogicClient *make_client(const char *url) {
    char *error = NULL;
    AltogicClient *client = altogic_client_new(url, CLIENT_KEY, NULL, &error);
    if (!client) {
        fprintf(stderr, "altogic_client_new: %s\n", error ? error : "?");
        altogic_string_free(error);
        exit(1);
    }
    return client;
}

static long vm_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

static void count_record(int level, const char *record, void *userdata) {
    (void)level;
    (void)record;
    __atomic_add_fetch((uint64_t *)userdata, 1, __ATOMIC_RELAXED);
}

/* Sequential calls for `seconds`: CPU per call in µs. */
static double sequential_cpu_us(const AltogicClient *client, double seconds, uint64_t *errors) {
    uint64_t deadline = now_ns() + (uint64_t)(seconds * 1e9), calls = 0;
    uint64_t cpu0 = process_cpu_ns();
    while (now_ns() < deadline) {
        char *r = altogic_task_run_once(client, TASK);
        if (!answer_ok(r)) (*errors)++;
        altogic_string_free(r);
        calls++;
    }
    return calls ? (double)(process_cpu_ns() - cpu0) / 1000.0 / (double)calls : 0.0;
}

static uint64_t sequential_calls(const AltogicClient *client, long calls) {
    uint64_t errors = 0;
    for (long i = 0; i < calls; i++) {
        char *r = altogic_task_run_once(client, TASK);
        if (!answer_ok(r) && errors++ == 0) fprintf(stderr, "bench rss: %s\n", r);
        altogic_string_free(r);
    }
    return errors;
}

int main(int argc, char **argv) {
    if (argc >= 5 && strcmp(argv[1], "run") == 0) {
        AltogicClient *client = make_client(argv[2]);
        double seconds = atof(argv[3]);
        for (int i = 4; i < argc; i++) {
            int threads = atoi(argv[i]);
            run_cell(client, threads, WARMUP_SECONDS, 0);
            run_cell(client, threads, seconds, 1);
        }
        altogic_client_free(client);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "createfree") == 0) {
        long pairs = atol(argv[2]);
        for (long i = 0; i < pairs / 10 + 1; i++) /* warm-up */
            altogic_client_free(make_client("http://127.0.0.1:9"));
        uint64_t t0 = now_ns();
        for (long i = 0; i < pairs; i++) {
            AltogicClient *c = altogic_client_new("http://127.0.0.1:9", CLIENT_KEY, NULL, NULL);
            if (!c) return 1;
            altogic_client_free(c);
        }
        double ns = (double)(now_ns() - t0) / (double)pairs;
        printf("{\"pairs\":%ld,\"ns_per_pair\":%.1f}\n", pairs, ns);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "rss") == 0) {
        AltogicClient *client = make_client(argv[2]);
        uint64_t errors = sequential_calls(client, 10000);
        long rss_10k = vm_rss_kib();
        errors += sequential_calls(client, 90000);
        long rss_100k = vm_rss_kib();
        altogic_client_free(client);
        printf("{\"rss_kib_10k\":%ld,\"rss_kib_100k\":%ld,\"errors\":%llu}\n", rss_10k, rss_100k,
               (unsigned long long)errors);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "log") == 0) {
        AltogicClient *client = make_client(argv[2]);
        double seconds = atof(argv[3]);
        static const struct {
            const char *name;
            int level;
        } settings[] = {{"none", ALTOGIC_LOG_OFF}, {"error", ALTOGIC_LOG_ERROR}, {"debug", ALTOGIC_LOG_DEBUG}};
        uint64_t records = 0, errors = 0;
        sequential_cpu_us(client, WARMUP_SECONDS, &errors);
        for (int round = 0; round < 3; round++)
            for (int s = 0; s < 3; s++) {
                altogic_set_log_callback(settings[s].level, settings[s].level ? count_record : NULL, &records);
                uint64_t before = __atomic_load_n(&records, __ATOMIC_RELAXED);
                double us = sequential_cpu_us(client, seconds, &errors);
                printf("{\"logging\":\"%s\",\"round\":%d,\"cpu_us_per_call\":%.2f,\"records\":%llu,"
                       "\"errors\":%llu}\n",
                       settings[s].name, round, us,
                       (unsigned long long)(__atomic_load_n(&records, __ATOMIC_RELAXED) - before),
                       (unsigned long long)errors);
                fflush(stdout);
            }
        altogic_set_log_callback(ALTOGIC_LOG_OFF, NULL, NULL);
        altogic_client_free(client);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "clients") == 0) {
        long n = atol(argv[3]);
        if (n < 1) return 1;
        AltogicClient *first = make_client(argv[2]);
        uint64_t errors = sequential_calls(first, 1); /* the runtime and the pool exist now */
        AltogicClient **clients = calloc((size_t)n, sizeof *clients);
        if (!clients) return 1;
        long before = vm_rss_kib();
        for (long i = 0; i < n; i++) clients[i] = make_client(argv[2]);
        long after = vm_rss_kib();
        for (long i = 0; i < n; i++) altogic_client_free(clients[i]);
        free(clients);
        altogic_client_free(first);
        printf("{\"clients\":%ld,\"rss_kib_before\":%ld,\"rss_kib_after\":%ld,"
               "\"kib_per_client\":%.3f,\"errors\":%llu}\n",
               n, before, after, (double)(after - before) / (double)n, (unsigned long long)errors);
        return 0;
    }
    fprintf(stderr,
            "usage: %s run URL SECONDS THREADS... | createfree PAIRS | rss URL | clients URL N | "
            "log URL SECONDS\n",
            argv[0]);
    return 1;
}
