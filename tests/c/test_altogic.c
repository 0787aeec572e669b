/*
 * The C test suite: include/altogic.h and the built library against a real HTTP server on
 * 127.0.0.1 (the fixture server, examples/fixture_server.rs), whose URL is argv[1].
 *
 * Run by tests/c/run.sh. Set ALTOGIC_TEST_NO_FORK=1 to leave out the fork() cases (the
 * valgrind run does: valgrind would check the child too), or
 * ALTOGIC_TEST_NO_FORK_WHILE_CALLING=1 to leave out only forking while other threads are
 * inside calls (the ASan run does: GCC 12's ASan allocator takes a lock that fork() does not
 * release in the child, so a child may hang in malloc whatever the library does).
 * Ends with the line "N passed, N failed"; exits non-zero when anything failed.
 */
#define _GNU_SOURCE
#include "altogic.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* On Windows (MinGW-w64, run under wine by scripts/test-platforms.sh) the cases that need
   what only POSIX systems have (fork, signals, epoll and poll on the queue's descriptor,
   /proc, raw sockets) are left out; the rest runs the same. */
#ifdef _WIN32
#define POSIX_ONLY 0
#else
#define POSIX_ONLY 1
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#endif

static int passed, failed;
static const char *fixture_url;

#define CHECK(cond, what)                                                        \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);      \
        }                                                                        \
    } while (0)

/* Checks that `json` contains `needle`, showing both when it does not. */
#define CHECK_HAS(json, needle)                                                  \
    do {                                                                         \
        const char *json_ = (json);                                              \
        if (json_ != NULL && strstr(json_, (needle)) != NULL) {                  \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "FAIL %s:%d: expected %s in %s\n", __FILE__,        \
                    __LINE__, (needle), json_ ? json_ : "(NULL)");               \
        }                                                                        \
    } while (0)

#define CHECK_LACKS(json, needle)                                                \
    do {                                                                         \
        const char *json_ = (json);                                              \
        if (json_ != NULL && strstr(json_, (needle)) == NULL) {                  \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "FAIL %s:%d: did not expect %s in %s\n", __FILE__,  \
                    __LINE__, (needle), json_ ? json_ : "(NULL)");               \
        }                                                                        \
    } while (0)

/* Checks that a result (owned) contains every needle, then frees it. */
static void expect_result_at(int line, char *result, ...) {
    va_list needles;
    va_start(needles, result);
    for (const char *needle; (needle = va_arg(needles, const char *)) != NULL;) {
        if (result != NULL && strstr(result, needle) != NULL) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s:%d: expected %s in %s\n", __FILE__, line, needle,
                    result ? result : "(NULL)");
        }
    }
    va_end(needles);
    altogic_string_free(result);
}
#define EXPECT(result, ...) expect_result_at(__LINE__, (result), __VA_ARGS__, (const char *)NULL)

static AltogicClient *new_client(const char *options) {
    char *error = NULL;
    AltogicClient *client = altogic_client_new(fixture_url, "c-client-key", options, &error);
    CHECK(client != NULL, "client created");
    CHECK(error == NULL, "no error on success");
    altogic_string_free(error);
    return client;
}

/* A compact one-line result: no newline anywhere. */
static void check_one_line(const char *json) {
    CHECK(json != NULL && strchr(json, '\n') == NULL, "result is one line");
}

static void test_version(void) {
    CHECK(strcmp(altogic_version(), ALTOGIC_VERSION) == 0, "altogic_version() == ALTOGIC_VERSION");
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", ALTOGIC_VERSION_MAJOR, ALTOGIC_VERSION_MINOR,
             ALTOGIC_VERSION_PATCH);
    CHECK(strncmp(ALTOGIC_VERSION, expected, strlen(expected)) == 0, "version macros agree");
}

static void expect_create_error(const char *url, const char *key, const char *options,
                                const char *code) {
    char *error = NULL;
    AltogicClient *client = altogic_client_new(url, key, options, &error);
    CHECK(client == NULL, "creation refused");
    CHECK_HAS(error, code);
    CHECK_HAS(error, "\"status\":0,\"statusText\":\"Client Error\",\"items\":[{\"origin\":\"client_error\"");
    altogic_string_free(error);
    altogic_client_free(client);
}

static void test_json_get(void) {
    const char *answer = "{\"info\":{\"taskId\":\"t1\",\"n\":1.50},\"errors\":{\"status\":0,"
                         "\"items\":[{\"code\":\"x\",\"message\":\"caf\\u00e9 \\\"q\\\"\"}]}}";
    struct {
        const char *pointer, *expected;
    } cases[] = {
        {"/info/taskId", "t1"},
        {"/info/n", "1.50"},
        {"/errors/items/0/code", "x"},
        {"/errors/items/0/message", "caf\xc3\xa9 \"q\""},
        {"/errors/status", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *value = altogic_json_get(answer, cases[i].pointer);
        CHECK(value != NULL && strcmp(value, cases[i].expected) == 0, cases[i].pointer);
        altogic_string_free(value);
    }
    CHECK(altogic_json_get(answer, "/nothing") == NULL, "json_get: no value is NULL");
    CHECK(altogic_json_get("{\"info\":null}", "/info") == NULL, "json_get: null is NULL");
    CHECK(altogic_json_get("not json", "") == NULL, "json_get: not JSON is NULL");
    CHECK(altogic_json_get(NULL, "/a") == NULL && altogic_json_get(answer, NULL) == NULL,
          "json_get: NULL arguments are NULL");
}

/* The whole of a file, NUL-terminated; NULL when it cannot be read. */
static char *read_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    size_t size = 0, capacity = 4096;
    char *text = malloc(capacity);
    size_t got;
    while (text && (got = fread(text + size, 1, capacity - size - 1, file)) > 0) {
        size += got;
        if (size + 1 == capacity) {
            char *grown = realloc(text, capacity *= 2);
            if (!grown) free(text);
            text = grown;
        }
    }
    fclose(file);
    if (text) text[size] = '\0';
    return text;
}

/* `pointer` of `json` as a string (NULL when absent), formatted from `format` and `i`. */
static char *json_at(const char *json, const char *format, int i) {
    char pointer[128];
    snprintf(pointer, sizeof pointer, format, i);
    return altogic_json_get(json, pointer);
}

/* The shared table of bad input (tests/data/bad_input.json), read by the Rust, Python and Go
   suites too: each case is refused with its code, names its argument, and never repeats a
   secret it was given. */
static void test_shared_bad_input(void) {
    const char *path = getenv("ALTOGIC_BAD_INPUT");
    char *table = read_file(path ? path : "tests/data/bad_input.json");
    CHECK(table != NULL, "tests/data/bad_input.json is read (run from the repository's root)");
    if (!table) return;
    AltogicClient *client = altogic_client_new("http://127.0.0.1:9", "k", NULL, NULL);
    int cases = 0, ok = 0;
    char *code;
    while ((code = json_at(table, "/cases/%d/code", cases)) != NULL) {
        char *argument = json_at(table, "/cases/%d/argument", cases);
        char *never = json_at(table, "/cases/%d/never", cases);
        char *env_url = json_at(table, "/cases/%d/create/env_url", cases);
        char *error = NULL;
        if (env_url) {
            char *key = json_at(table, "/cases/%d/create/client_key", cases);
            char *options = json_at(table, "/cases/%d/create/options", cases);
            AltogicClient *made = altogic_client_new(env_url, key, options, &error);
            altogic_client_free(made);
            altogic_string_free(key);
            altogic_string_free(options);
        } else {
            char *name = json_at(table, "/cases/%d/call/name", cases);
            char *arg = json_at(table, "/cases/%d/call/argument", cases);
            char *answer = NULL;
            if (name && strcmp(name, "run_once") == 0) answer = altogic_task_run_once(client, arg);
            else if (name && strcmp(name, "get_status") == 0) answer = altogic_task_get_status(client, arg);
            else if (name && strcmp(name, "wait") == 0) answer = altogic_task_wait(client, arg, 0);
            else if (name && strcmp(name, "set_session") == 0) answer = altogic_client_set_session(client, arg);
            error = answer ? altogic_json_get(answer, "/errors") : NULL;
            if (!error) error = answer ? altogic_json_get(answer, "") : NULL; /* set_session: the APIError itself */
            altogic_string_free(answer);
            altogic_string_free(name);
            altogic_string_free(arg);
        }
        char *got_code = error ? altogic_json_get(error, "/items/0/code") : NULL;
        char *got_argument = error ? altogic_json_get(error, "/items/0/details/argument") : NULL;
        int right = got_code && strcmp(got_code, code) == 0 && got_argument && argument &&
                    strcmp(got_argument, argument) == 0 && !(never && strstr(error, never));
        if (!right) fprintf(stderr, "bad_input.json case %d: got %s\n", cases, error ? error : "(no error)");
        ok += right;
        cases++;
        altogic_string_free(got_code);
        altogic_string_free(got_argument);
        altogic_string_free(error);
        altogic_string_free(env_url);
        altogic_string_free(argument);
        altogic_string_free(never);
        altogic_string_free(code);
    }
    printf("shared bad input: %d of %d cases refused as the table says\n", ok, cases);
    CHECK(cases >= 30 && ok == cases, "every case of tests/data/bad_input.json is refused as it says");
    altogic_client_free(client);
    free(table);
}

/* What only C can pass: NULL, bytes that are not UTF-8, options that are not JSON or not an
   options object. The rest is the shared table's. */
static void test_client_new_refuses_bad_input(void) {
    expect_create_error(NULL, "k", NULL, "\"code\":\"missing_required_value\"");
    expect_create_error("http://127.0.0.1:1", NULL, NULL, "\"code\":\"missing_required_value\"");
    expect_create_error("http://127.0.0.1:1", "k\xff", NULL, "\"code\":\"invalid_argument\"");
    expect_create_error("http://127.0.0.1:1", "k", "{not json", "\"code\":\"invalid_argument\"");
    expect_create_error("http://127.0.0.1:1", "k", "{\"timeout\":5}", "unknown field `timeout`");
    expect_create_error("http://127.0.0.1:1", "k", "{\"timeoutMs\":\"5\"}", "\"code\":\"invalid_argument\"");
    expect_create_error("http://127.0.0.1:1", "k", "[]", "\"code\":\"invalid_argument\"");
    /* error_out may be NULL. */
    CHECK(altogic_client_new(NULL, NULL, NULL, NULL) == NULL, "NULL error_out is fine");
    /* Surrounding white space and one trailing slash are accepted. */
    char url[256];
    snprintf(url, sizeof url, "  %s/ ", fixture_url);
    char *error = (char *)"untouched";
    AltogicClient *client = altogic_client_new(url, "k", "{}", &error);
    CHECK(client != NULL && error == NULL, "trimmed URL accepted and *error_out set to NULL");
    altogic_client_free(client);
    altogic_client_free(NULL);
    altogic_string_free(NULL);
}

static void test_bad_call_arguments(void) {
    AltogicClient *client = new_client(NULL);
    EXPECT(altogic_task_run_once(NULL, "x"),
           "{\"info\":null,\"errors\":{\"status\":0,\"statusText\":\"Client Error\"",
           "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_run_once(client, NULL),
           "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_run_once(client, "bad\xc3(utf8"),
           "\"code\":\"invalid_argument\"",
           "not valid UTF-8");
    EXPECT(altogic_task_get_status(NULL, "x"),
           "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_get_status(client, NULL),
           "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_wait(NULL, "x", 10),
           "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_wait(client, "\xff", 10),
           "\"code\":\"invalid_argument\"");
    altogic_client_free(client);
}

static void test_run_once_on_the_wire(void) {
    AltogicClient *client = new_client("{\"apiKey\":\"the-api-key\"}");
    char *r = altogic_task_run_once(client, "echo-\xc3\xa7" "a\xc4\x9f" "r\xc4\xb1"); /* echo-çağrı */
    check_one_line(r);
    CHECK_HAS(r, "\"errors\":null}");
    CHECK_HAS(r, "\"status\":\"pending\"");
    CHECK_HAS(r, "\"method\":\"POST\",\"path\":\"/_api/rest/v1/task\"");
    CHECK_HAS(r, "[\"x-client\",\"altogic-c\"]");
    CHECK_HAS(r, "[\"x-client-key\",\"c-client-key\"]");
    CHECK_HAS(r, "[\"authorization\",\"the-api-key\"]");
    CHECK_HAS(r, "[\"content-type\",\"application/json\"]");
    CHECK_LACKS(r, "[\"session\",");
    CHECK_HAS(r, "\"body\":\"{\\\"taskNameOrId\\\":\\\"echo-\xc3\xa7" "a\xc4\x9f" "r\xc4\xb1\\\"}\"");
    CHECK_HAS(r, "\"futureField\":{\"zeta\":1,\"alpha\":[2.50,12345678901234567890123],\"text\":\"\xc3\xa7" "a\xc4\x9f" "r\xc4\xb1 \xe2\x9c\x93\"}");
    altogic_string_free(r);
    altogic_client_free(client);
}

static void test_get_status_on_the_wire(void) {
    AltogicClient *client = new_client("{\"session\":\"s-1\"}");
    char *r = altogic_task_get_status(client, "6237b225b9a84d607cd79044");
    CHECK_HAS(r, "\"method\":\"GET\",\"path\":\"/_api/rest/v1/task/6237b225b9a84d607cd79044\"");
    CHECK_HAS(r, "[\"session\",\"s-1\"]");
    CHECK_LACKS(r, "content-type");
    CHECK_LACKS(r, "authorization");
    altogic_string_free(r);
    /* The official client's path injection: ours keeps the id one segment. */
    EXPECT(altogic_task_get_status(client, "../x?y"),
           "\"path\":\"/_api/rest/v1/task/..%2Fx%3Fy\"",
           "\"errors\":null}");
    altogic_client_free(client);
}

static void test_error_answers(void) {
    AltogicClient *client = new_client(NULL);
    static const struct {
        const char *name, *expected;
    } cases[] = {
        {"error-array", "{\"info\":null,\"errors\":{\"status\":404,\"statusText\":\"Not Found\",\"items\":[{\"origin\":\"client_error\",\"code\":\"not_found\",\"message\":\"fixture says not_found\",\"details\":null}]}}"},
        {"error-object", "{\"info\":null,\"errors\":{\"status\":400,\"statusText\":\"Bad Request\",\"items\":[{\"origin\":\"client_error\",\"code\":\"validation_error\",\"message\":\"fixture says validation_error\",\"details\":null}]}}"},
        {"error-bare-array", "{\"info\":null,\"errors\":{\"status\":403,\"statusText\":\"Forbidden\",\"items\":[{\"origin\":\"client_error\",\"code\":\"forbidden\",\"message\":\"fixture says forbidden\",\"details\":null}]}}"},
        {"error-single", "{\"info\":null,\"errors\":{\"status\":409,\"statusText\":\"Conflict\",\"items\":[{\"origin\":\"client_error\",\"code\":\"conflict\",\"message\":\"fixture says conflict\",\"details\":null}]}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = altogic_task_run_once(client, cases[i].name);
        CHECK(r != NULL && strcmp(r, cases[i].expected) == 0, cases[i].name);
        if (r && strcmp(r, cases[i].expected) != 0) fprintf(stderr, "  got %s\n", r);
        altogic_string_free(r);
    }
    EXPECT(altogic_task_run_once(client, "error-html"),
           "\"status\":502,\"statusText\":\"Bad Gateway\"",
           "\"origin\":\"server_error\",\"code\":\"bad_gateway\"",
           "<html> <body>Bad gateway</body></html>");
    EXPECT(altogic_task_get_status(client, "error-text-404"),
           "\"status\":404,\"statusText\":\"Not Found\",\"items\":[{\"origin\":\"client_error\",\"code\":\"not_found\"");
    EXPECT(altogic_task_run_once(client, "not-json-ok"),
           "\"status\":0,\"statusText\":\"Client Error\"",
           "\"code\":\"invalid_response\"",
           "\"details\":{\"httpStatus\":200}");
    char *r = altogic_task_get_status(client, "expired-null");
    CHECK(r && strcmp(r, "{\"info\":null,\"errors\":null}") == 0, "expired (null body)");
    altogic_string_free(r);
    r = altogic_task_get_status(client, "expired-empty");
    CHECK(r && strcmp(r, "{\"info\":null,\"errors\":null}") == 0, "expired (empty body)");
    altogic_string_free(r);
    EXPECT(altogic_task_run_once(client, "redirect"),
           "\"status\":302,\"statusText\":\"Found\"",
           "\"code\":\"redirect_not_followed\"",
           "\"details\":{\"location\":\"http://127.0.0.1:9/elsewhere\"}");
    altogic_client_free(client);
}

static void test_limits_and_failures(void) {
    AltogicClient *small = new_client("{\"maxResponseBytes\":1000,\"timeoutMs\":400}");
    EXPECT(altogic_task_get_status(small, "big"),
           "\"code\":\"response_too_large\"");
    EXPECT(altogic_task_get_status(small, "big-chunked"),
           "\"code\":\"response_too_large\"");
    EXPECT(altogic_task_run_once(small, "drip"),
           "\"code\":\"timeout\"",
           "\"details\":{\"timeoutMs\":400,\"httpStatus\":200}");
    EXPECT(altogic_task_run_once(small, "stall"),
           "\"code\":\"timeout\"");
    altogic_client_free(small);

    char url[64];
#if POSIX_ONLY
    /* A port nobody listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd, (struct sockaddr *)&addr, sizeof addr);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(addr.sin_port));
#else
    /* The discard port: nothing listens there on a test machine. */
    snprintf(url, sizeof url, "http://127.0.0.1:9");
#endif
    AltogicClient *refused = altogic_client_new(url, "k", NULL, NULL);
    EXPECT(altogic_task_run_once(refused, "x"),
           "\"status\":0,\"statusText\":\"Client Error\"",
           "\"code\":\"network_error\"",
           "could not connect");
    altogic_client_free(refused);
}

/* Sets the session and checks the answer: NULL when `code` is NULL, else an APIError with it. */
static void expect_set_session_at(int line, AltogicClient *client, const char *token,
                                  const char *code) {
    char *error = altogic_client_set_session(client, token);
    if (code == NULL) {
        CHECK(error == NULL, "set_session succeeds with NULL");
        if (error) fprintf(stderr, "  line %d: got %s\n", line, error);
    } else {
        expect_result_at(line, error, "{\"status\":0,\"statusText\":\"Client Error\",\"items\":[{\"origin\":\"client_error\"",
                         code, (const char *)NULL);
        return;
    }
    altogic_string_free(error);
}
#define EXPECT_SET_SESSION(client, token, code) expect_set_session_at(__LINE__, (client), (token), (code))

static void test_sessions(void) {
    AltogicClient *client = new_client(NULL);
    CHECK(altogic_client_get_session(client) == NULL, "no session at first");
    EXPECT_SET_SESSION(client, "tok-2", NULL);
    char *token = altogic_client_get_session(client);
    CHECK(token && strcmp(token, "tok-2") == 0, "session read back");
    altogic_string_free(token);
    EXPECT(altogic_task_run_once(client, "echo-session"),
           "[\"session\",\"tok-2\"]");

    EXPECT_SET_SESSION(client, "", "\"code\":\"missing_required_value\"");
    EXPECT_SET_SESSION(client, "a\r\nX: y", "\"code\":\"invalid_argument\"");
    EXPECT_SET_SESSION(client, "\xff", "\"code\":\"invalid_argument\"");
    EXPECT_SET_SESSION(NULL, "x", "\"code\":\"missing_required_value\"");
    CHECK(altogic_client_get_session(NULL) == NULL, "NULL client has no session");
    token = altogic_client_get_session(client);
    CHECK(token && strcmp(token, "tok-2") == 0, "refused tokens leave the session unchanged");
    altogic_string_free(token);

    EXPECT(altogic_task_run_once(client, "invalid-session"),
           "\"status\":401",
           "\"code\":\"invalid_session_token\"");
    CHECK(altogic_client_get_session(client) == NULL, "invalid_session_token drops the session");
    char *r = altogic_task_run_once(client, "echo-after-drop");
    CHECK_LACKS(r, "[\"session\",");
    altogic_string_free(r);

    EXPECT_SET_SESSION(client, "tok-3", NULL);
    EXPECT(altogic_task_get_status(client, "missing-session"),
           "\"code\":\"missing_session_token\"");
    CHECK(altogic_client_get_session(client) == NULL, "missing_session_token drops the session");
    EXPECT_SET_SESSION(client, "tok-4", NULL);
    EXPECT_SET_SESSION(client, NULL, NULL);
    CHECK(altogic_client_get_session(client) == NULL, "cleared");
    altogic_client_free(client);
}

#if POSIX_ONLY
/* A server that resets the connection while a large request is still being written: the
   library's writes fail with EPIPE, and SIGPIPE (whose default action ends this process)
   must never reach it. */
static void test_no_sigpipe_on_a_reset_connection(void) {
    AltogicClient *client = new_client(NULL);
    size_t size = 8u << 20;
    char *name = malloc(size + 1);
    memset(name, 'x', size);
    name[size] = '\0';
    for (int i = 0; i < 5; i++)
        EXPECT(altogic_task_run_once(client, name), "\"code\":\"network_error\"");
    free(name);
    sigset_t pending;
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGPIPE), "no SIGPIPE is left pending");
    altogic_client_free(client);
}
#endif

static void test_error_items_are_well_formed(void) {
    AltogicClient *client = new_client(NULL);
    EXPECT(altogic_task_run_once(client, "error-odd-items"),
           "\"status\":400,\"statusText\":\"Bad Request\"",
           "{\"message\":\"plain text\",\"origin\":\"client_error\",\"code\":\"bad_request\"}",
           "{\"message\":\"7\",\"origin\":\"client_error\",\"code\":\"bad_request\"}",
           "{\"code\":\"only_code\",\"extra\":{\"n\":1},\"origin\":\"client_error\",\"message\":",
           "{\"message\":\"only message\",\"origin\":\"client_error\",\"code\":\"bad_request\"}");
    EXPECT(altogic_task_get_status(client, "spelling"),
           "\"n\":[1e400,-0,1.50,1E5,12345678901234567890123]}");
    altogic_client_free(client);
}

static void test_wait(void) {
    AltogicClient *client = new_client(NULL);
    EXPECT(altogic_task_wait(client, "seq-c-wait-1", 10000),
           "\"status\":\"completed\"",
           "\"errors\":null}");
    EXPECT(altogic_task_wait(client, "seq-errors-c-wait-2", 10000),
           "\"status\":\"errors\",\"errors\":{\"code\":\"job_failed\"");
    char *r = altogic_task_wait(client, "vanish-c-wait-3", 10000);
    CHECK(r && strstr(r, "{\"info\":null,\"errors\":{") == r && strstr(r, "\"code\":\"" ALTOGIC_CODE_EXECUTION_NOT_FOUND "\""),
          "wait ends with execution_not_found when the execution is gone");
    altogic_string_free(r);
    EXPECT(altogic_task_wait(client, "deny-after-1-c-wait-4", 10000),
           "{\"info\":null,\"errors\":{\"status\":403");
    /* The fixture counts polls per key and outlives one run of this suite: keys of our own. */
    char flaky[64], down[64];
    snprintf(flaky, sizeof flaky, "flaky-c-wait-7-%d", (int)getpid());
    snprintf(down, sizeof down, "down-c-wait-8-%d", (int)getpid());
    EXPECT(altogic_task_wait(client, flaky, 20000),
           "\"status\":\"completed\"",
           "\"errors\":null}");
    EXPECT(altogic_task_wait(client, down, 600),
           "\"status\":\"processing\"",
           "\"code\":\"timeout\"",
           "\"lastStatus\":\"processing\",\"lastError\":{\"status\":503");
    EXPECT(altogic_task_wait(client, "forever-c-wait-5", 300),
           "\"status\":\"processing\"",
           "\"code\":\"timeout\"",
           "\"details\":{\"timeoutMs\":300,\"lastStatus\":\"processing\",\"lastError\":null}");
    EXPECT(altogic_task_wait(client, "forever-c-wait-6", 0),
           "\"code\":\"timeout\"");
    EXPECT(altogic_task_wait(client, "done-at-once", 0),
           "\"status\":\"completed\"",
           "\"errors\":null}");
    altogic_client_free(client);
}

static int connection_of(const char *json) {
    const char *at = json ? strstr(json, "\"_connection\":") : NULL;
    return at ? atoi(at + strlen("\"_connection\":")) : -1;
}

static void test_connection_reuse(void) {
    /* A connect timeout of its own gives this client a pool of its own. */
    AltogicClient *client = new_client("{\"connectTimeoutMs\":9999}");
    int seen[6], distinct = 0;
    for (int i = 0; i < 6; i++) {
        char *r = i % 2 ? altogic_task_get_status(client, "echo-reuse")
                        : altogic_task_run_once(client, "echo-reuse");
        seen[i] = connection_of(r);
        int known = 0;
        for (int j = 0; j < i; j++) known = known || seen[j] == seen[i];
        if (!known) distinct++;
        altogic_string_free(r);
    }
    CHECK(seen[0] > 0 && distinct <= 2, "calls in a row reuse kept-alive connections");
    altogic_client_free(client);
}

static void *call_slow(void *client) {
    return altogic_task_run_once((const AltogicClient *)client, "slow");
}

static void test_threads_share_one_client(void) {
    AltogicClient *client = new_client(NULL);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, call_slow, client);
    int most = 0;
    for (int i = 0; i < 4; i++) {
        void *result = NULL;
        pthread_join(threads[i], &result);
        const char *at = result ? strstr((char *)result, "\"maxInFlight\":") : NULL;
        int seen = at ? atoi(at + strlen("\"maxInFlight\":")) : 0;
        if (seen > most) most = seen;
        CHECK_HAS((char *)result, "\"errors\":null}");
        altogic_string_free((char *)result);
    }
    CHECK(most >= 2, "calls from several threads run at once");
    altogic_client_free(client);
}

#if POSIX_ONLY
/* A numeric field of /proc/self/status ("Threads:", "VmRSS:"), or -1. */
static long proc_status(const char *field) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, field, strlen(field)) == 0) value = atol(line + strlen(field));
    if (status) fclose(status);
    return value;
}
#endif

#if POSIX_ONLY
static int open_fds(void) {
    int count = 0;
    DIR *fds = opendir("/proc/self/fd");
    while (fds && readdir(fds)) count++;
    if (fds) closedir(fds);
    return count;
}
#endif

static void *call_once_and_exit(void *client) {
    return altogic_task_run_once((const AltogicClient *)client, "echo-short-lived");
}

/* Calls from threads that exit at once: the connections are the process's, so the threads
   leave nothing behind (no descriptor left open) and share the kept-alive connection. */
static void test_threads_that_exit_release_their_connections(void) {
    AltogicClient *client = new_client(NULL);
    altogic_string_free(altogic_task_run_once(client, "echo-warm"));
#if POSIX_ONLY
    int before = open_fds();
#endif
    int ok = 1;
    for (int i = 0; i < 64; i++) {
        pthread_t thread;
        void *result = NULL;
        pthread_create(&thread, NULL, call_once_and_exit, client);
        pthread_join(thread, &result);
        ok = ok && result && strstr((char *)result, "\"errors\":null}");
        altogic_string_free((char *)result);
    }
    CHECK(ok, "calls from short-lived threads succeed");
#if POSIX_ONLY
    int after = open_fds();
    CHECK(after - before <= 2, "exited threads leave no descriptors open");
    printf("short-lived threads: 64 threads, open descriptors %d -> %d\n", before, after);
#endif
    altogic_client_free(client);
}

#if POSIX_ONLY
/* Whether memory figures are the program's own: not under ASan (whose shadow memory and
   redzones grow with every allocation) nor valgrind (which preloads its vgpreload library). */
static int measured_natively(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#else
    const char *preload = getenv("LD_PRELOAD");
    return !(preload && strstr(preload, "vgpreload"));
#endif
}
#endif

static void test_clients_are_cheap(void) {
    enum { N = 1000 };
    static AltogicClient *clients[N];
    AltogicClient *warm = new_client(NULL);
    altogic_string_free(altogic_task_run_once(warm, "echo-warm"));
#if POSIX_ONLY
    long before = proc_status("Threads:"), rss_before = proc_status("VmRSS:");
#endif
    for (int i = 0; i < N; i++) clients[i] = altogic_client_new(fixture_url, "k", NULL, NULL);
    int ok = 1;
    for (int i = 0; i < N; i += 100) {
        char *r = altogic_task_run_once(clients[i], "echo-many");
        ok = ok && r && strstr(r, "\"errors\":null}");
        altogic_string_free(r);
    }
    CHECK(ok, "every sampled client works");
#if POSIX_ONLY
    long after = proc_status("Threads:"), rss_after = proc_status("VmRSS:");
    CHECK(after >= 0 && after - before <= 0, "a thousand clients start no threads");
    /* Memory is the program's own only without ASan's shadow and valgrind's bookkeeping. */
    if (measured_natively())
        CHECK(rss_after - rss_before <= 4 * N, "a thousand clients take at most 4 KiB each");
    printf("clients: %d clients: threads %ld -> %ld, RSS %ld -> %ld KiB\n", N, before, after,
           rss_before, rss_after);
#endif
    for (int i = 0; i < N; i++) altogic_client_free(clients[i]);
    altogic_client_free(warm);
}

#if POSIX_ONLY
/* Waits for a child for at most `seconds`; kills it after that. */
static int wait_child(pid_t child, int seconds) {
    for (int i = 0; i < seconds * 20; i++) {
        int status = 0;
        if (waitpid(child, &status, WNOHANG) == child)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
        usleep(50 * 1000);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 101;
}
#endif

#if POSIX_ONLY
static void test_fork(void) {
    AltogicClient *client = new_client(NULL);
    EXPECT(altogic_task_run_once(client, "echo-before-fork"),
           "\"errors\":null}");
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        char *in_child = altogic_task_run_once(client, "echo-in-child");
        int ok = in_child && strstr(in_child, "\"errors\":null}") != NULL;
        altogic_string_free(in_child);
        char *waited = altogic_task_wait(client, "seq-in-child", 10000);
        ok = ok && waited && strstr(waited, "\"status\":\"completed\"") != NULL;
        altogic_string_free(waited);
        _exit(ok ? 0 : 1);
    }
    CHECK(child > 0, "fork");
    CHECK(wait_child(child, 20) == 0, "a client inherited by a child keeps working there");
    EXPECT(altogic_task_run_once(client, "echo-after-fork"),
           "\"errors\":null}");
    altogic_client_free(client);
}
#endif

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* How many requests the fixture received for `key`. */
static int seen_count(AltogicClient *client, const char *key) {
    char id[128];
    snprintf(id, sizeof id, "count-of-%s", key);
    char *r = altogic_task_get_status(client, id);
    const char *at = r ? strstr(r, "\"seen\":") : NULL;
    int seen = at ? atoi(at + strlen("\"seen\":")) : -1;
    altogic_string_free(r);
    return seen;
}

struct cancel_call {
    AltogicClient *client;
    AltogicCancel *token;
    int kind; /* 0 run_once, 1 get_status, 2 wait forever */
    const char *arg;
    char *result;
    double returned_ms;
};

static void *run_cancel_call(void *arg) {
    struct cancel_call *call = arg;
    switch (call->kind) {
    case 0: call->result = altogic_task_run_once_cancellable(call->client, call->arg, call->token); break;
    case 1: call->result = altogic_task_get_status_cancellable(call->client, call->arg, call->token); break;
    default:
        call->result = altogic_task_wait_cancellable(call->client, call->arg, ALTOGIC_WAIT_FOREVER, call->token);
    }
    call->returned_ms = now_ms();
    return NULL;
}

static void test_cancellation(void) {
    AltogicClient *client = new_client(NULL);
    /* NULL is fine everywhere a token goes. */
    altogic_cancel_trigger(NULL);
    altogic_cancel_free(NULL);
    CHECK(altogic_cancel_is_triggered(NULL) == 0, "NULL token is not triggered");
    EXPECT(altogic_task_run_once_cancellable(client, "echo-null-token", NULL), "\"errors\":null}");
    EXPECT(altogic_task_get_status_cancellable(client, "echo-null-token", NULL), "\"errors\":null}");
    EXPECT(altogic_task_wait_cancellable(client, "already-done", 1000, NULL), "\"status\":\"completed\"");
    EXPECT(altogic_task_run_once_cancellable(NULL, "x", NULL), "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_get_status_cancellable(client, NULL, NULL), "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_wait_cancellable(client, "..", 10, NULL), "\"code\":\"invalid_argument\"");

    /* Triggered before the call: nothing is sent. */
    AltogicCancel *early = altogic_cancel_new();
    CHECK(early != NULL && altogic_cancel_is_triggered(early) == 0, "new token not triggered");
    altogic_cancel_trigger(early);
    altogic_cancel_trigger(early);
    CHECK(altogic_cancel_is_triggered(early) == 1, "trigger is idempotent");
    EXPECT(altogic_task_run_once_cancellable(client, "counted-c-pre", early),
           "{\"info\":null,\"errors\":{\"status\":0,\"statusText\":\"Client Error\",\"items\":[{\"origin\":\"client_error\",\"code\":\"cancelled\"");
    EXPECT(altogic_task_get_status_cancellable(client, "counted-c-pre", early), "\"code\":\"cancelled\"");
    EXPECT(altogic_task_wait_cancellable(client, "counted-c-pre", ALTOGIC_WAIT_FOREVER, early), "\"code\":\"cancelled\"");
    CHECK(seen_count(client, "counted-c-pre") == 0, "a triggered token sends nothing");
    altogic_cancel_free(early);

    /* In flight: waiting for an answer, reading a trickling body, pausing between polls.
       One token serves all three calls at once. */
    AltogicCancel *token = altogic_cancel_new();
    struct cancel_call calls[] = {
        {client, token, 0, "stall", NULL, 0},
        {client, token, 1, "drip", NULL, 0},
        {client, token, 2, "forever-c-cancel", NULL, 0},
    };
    enum { CALLS = sizeof calls / sizeof calls[0] };
    pthread_t threads[CALLS];
    for (int i = 0; i < CALLS; i++) pthread_create(&threads[i], NULL, run_cancel_call, &calls[i]);
    usleep(400 * 1000);
    double triggered = now_ms();
    altogic_cancel_trigger(token);
    double worst = 0;
    for (int i = 0; i < CALLS; i++) {
        pthread_join(threads[i], NULL);
        double late = calls[i].returned_ms - triggered;
        if (late > worst) worst = late;
        EXPECT(calls[i].result, "{\"info\":null,\"errors\":{\"status\":0", "\"code\":\"cancelled\"");
    }
    /* The bound checked is loose (valgrind is slow); the figure printed is the real one. */
    printf("cancellation: %d calls in flight returned at most %.1f ms after the trigger\n", CALLS, worst);
    CHECK(worst < 1000, "calls in flight return soon after the trigger");
    altogic_cancel_free(token);
    altogic_client_free(client);
}

static volatile int keep_calling;

#if POSIX_ONLY
static void *call_in_a_loop(void *client) {
    while (keep_calling) altogic_string_free(altogic_task_get_status((AltogicClient *)client, "echo-loop"));
    return NULL;
}
#endif

#if POSIX_ONLY
static void test_fork_while_threads_call(void) {
    AltogicClient *client = new_client(NULL);
    pthread_t threads[3];
    keep_calling = 1;
    for (int i = 0; i < 3; i++) pthread_create(&threads[i], NULL, call_in_a_loop, client);
    int ok = 0;
    enum { FORKS = 50 };
    for (int i = 0; i < FORKS; i++) {
        fflush(NULL);
        pid_t child = fork();
        /* A child that has not answered in 10 s is taken as hung (a call takes milliseconds;
           the margin is for a machine whose two cores are shared with a build). */
        if (child == 0) {
            char *r = altogic_task_run_once(client, "echo-forked-child");
            _exit(r && strstr(r, "\"errors\":null}") ? 0 : 1);
        }
        int status = child > 0 ? wait_child(child, 10) : -1;
        if (status == 0) ok++;
        else fprintf(stderr, "  fork %d: child %s\n", i, status == 101 ? "hung (killed after 10 s)" : "failed");
    }
    keep_calling = 0;
    for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    printf("fork: %d of %d children forked during calls made theirs within 10 s\n", ok, FORKS);
    CHECK(ok == FORKS, "children forked while other threads are inside calls work");
    altogic_client_free(client);
}
#endif

/* ---- Log records and watching an execution (C ABI 1.3) ---- */

static AltogicQueue *new_queue(void);

/* What a log callback received: the records, one per line. */
struct log_capture {
    pthread_mutex_t lock;
    char *text;
    size_t length, capacity;
    int calls;
};

static void capture_record(int level, const char *record, void *userdata) {
    struct log_capture *capture = userdata;
    size_t n = strlen(record);
    pthread_mutex_lock(&capture->lock);
    if (capture->length + n + 2 > capture->capacity) {
        size_t capacity = (capture->capacity + n + 2) * 2;
        char *grown = realloc(capture->text, capacity);
        if (grown) {
            capture->text = grown;
            capture->capacity = capacity;
        }
    }
    if (capture->length + n + 2 <= capture->capacity && level >= ALTOGIC_LOG_ERROR && level <= ALTOGIC_LOG_DEBUG) {
        memcpy(capture->text + capture->length, record, n);
        capture->length += n;
        capture->text[capture->length++] = '\n';
        capture->text[capture->length] = '\0';
    }
    capture->calls++;
    pthread_mutex_unlock(&capture->lock);
}

/* How many captured records hold every one of the given texts. */
static int records_with(struct log_capture *capture, const char *a, const char *b) {
    int count = 0;
    pthread_mutex_lock(&capture->lock);
    for (char *line = capture->text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        count += strstr(line, a) && (!b || strstr(line, b));
        if (!end) break;
        *end = '\n';
        line = end + 1;
    }
    pthread_mutex_unlock(&capture->lock);
    return count;
}

static void *trigger_later(void *token) {
    usleep(300 * 1000);
    altogic_cancel_trigger(token);
    return NULL;
}

/* The records of a retried call, a reconnect and a cancelled wait, with no secret in them;
   nothing once the callback is removed, and nothing built below its level. */
static void test_log_records(void) {
    struct log_capture capture = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};
    AltogicClient *client = new_client(
        "{\"apiKey\":\"secret-api-key-1\",\"session\":\"secret-session-1\"}");
    altogic_set_log_callback(ALTOGIC_LOG_DEBUG, capture_record, &capture);
    char id[32];
    snprintf(id, sizeof id, "\"client\":%llu", (unsigned long long)altogic_client_id(client));
    CHECK(altogic_client_id(client) > 0 && altogic_client_id(NULL) == 0, "clients have numbers");

    altogic_string_free(altogic_task_run_once(client, "echo-log"));
    altogic_string_free(altogic_task_get_status(client, "reset-get-log"));   /* sent twice */
    altogic_string_free(altogic_task_run_once(client, "close-after-log-1")); /* the server closes */
    usleep(50 * 1000);
    altogic_string_free(altogic_task_run_once(client, "close-after-log-2")); /* a new connection */
    AltogicCancel *token = altogic_cancel_new();
    pthread_t trigger;
    pthread_create(&trigger, NULL, trigger_later, token);
    EXPECT(altogic_task_wait_cancellable(client, "forever-log", ALTOGIC_WAIT_FOREVER, token), "\"code\":\"cancelled\"");
    pthread_join(trigger, NULL);
    altogic_cancel_free(token);

    CHECK(records_with(&capture, "\"event\":\"request\"", id) >= 5, "a record per request, with the client's number");
    CHECK(records_with(&capture, "\"event\":\"request\"", "\"path\":\"/_api/rest/v1/task\"") >= 3, "requests name their path");
    CHECK(records_with(&capture, "\"event\":\"retry\"", "\"attempt\":2") == 1, "the GET sent again is a retry record");
    CHECK(records_with(&capture, "\"event\":\"request\"", "\"attempt\":2") == 1, "and its request says attempt 2");
    CHECK(records_with(&capture, "\"event\":\"connection_opened\"", id) >= 2, "the reconnect is a connection_opened record");
    CHECK(records_with(&capture, "\"path\":\"/_api/rest/v1/task\"", "\"connection\":\"new\"") >= 2, "requests on new connections say so");
    /* Seen when the next call opens a connection: close-after-log-2's, by the wait's first poll
       unless the cancel came first (valgrind is slow). */
    CHECK(records_with(&capture, "\"event\":\"connection_closed\"", "\"reason\":\"closed_while_idle\"") >= 1,
          "a connection the server closed is a connection_closed record");
    CHECK(records_with(&capture, "\"event\":\"connection_closed\"", "\"reason\":\"lost\"") >= 1,
          "the connection the reset GET lost is one too");
    CHECK(records_with(&capture, "\"event\":\"poll\"", "\"taskId\":\"forever-log\"") >= 1, "a wait's polls");
    CHECK(records_with(&capture, "\"event\":\"cancelled\"", "\"call\":\"wait\"") == 1, "the cancelled wait");
    CHECK(records_with(&capture, "secret", NULL) == 0, "no key or session token in any record");
    CHECK(records_with(&capture, "demo-client-key", NULL) == 0 && records_with(&capture, "\"k\"", NULL) == 0,
          "no client key in any record");

    /* Below its level, nothing is built: a request is a debug record. */
    altogic_set_log_callback(ALTOGIC_LOG_INFO, capture_record, &capture);
    pthread_mutex_lock(&capture.lock);
    int before = capture.calls;
    pthread_mutex_unlock(&capture.lock);
    altogic_string_free(altogic_task_run_once(client, "echo-log-info"));
    altogic_set_log_callback(ALTOGIC_LOG_OFF, NULL, NULL);
    altogic_string_free(altogic_task_run_once(client, "echo-log-off"));
    pthread_mutex_lock(&capture.lock);
    CHECK(capture.calls == before, "no record below the callback's level, none once it is removed");
    pthread_mutex_unlock(&capture.lock);
    altogic_client_free(client);
    free(capture.text);
}

/* The statuses a watched wait showed, in order. */
struct statuses {
    char seen[8][16];
    int count;
    pthread_t thread;
    int other_thread;
};

static void note_status(const char *task_info, void *userdata) {
    struct statuses *statuses = userdata;
    char *status = altogic_json_get(task_info, "/status");
    if (statuses->count < 8 && status) snprintf(statuses->seen[statuses->count++], 16, "%s", status);
    statuses->other_thread |= !pthread_equal(pthread_self(), statuses->thread);
    altogic_string_free(status);
}

/* A wait that shows each status as it changes, on the calling thread; through a queue, a
   result per status and the last one marked final. */
static void test_watch(void) {
    AltogicClient *client = new_client(NULL);
    /* The fixture counts the polls of each id: ids of this process alone (the suite runs
       several times against one fixture). */
    char seq[64], seq_errors[64], seq_queue[64];
    snprintf(seq, sizeof seq, "seq-watch-c-1-%d", (int)getpid());
    snprintf(seq_errors, sizeof seq_errors, "seq-errors-watch-c-2-%d", (int)getpid());
    snprintf(seq_queue, sizeof seq_queue, "seq-watch-q-4-%d", (int)getpid());
    struct statuses completed = {{{0}}, 0, pthread_self(), 0};
    EXPECT(altogic_task_wait_watch(client, seq, 10000, NULL, note_status, &completed),
           "\"status\":\"completed\"", "\"errors\":null}");
    CHECK(completed.count == 2 && strcmp(completed.seen[0], "pending") == 0 &&
              strcmp(completed.seen[1], "processing") == 0 && !completed.other_thread,
          "pending, then processing, on the calling thread; completed is the result");
    struct statuses errored = {{{0}}, 0, pthread_self(), 0};
    EXPECT(altogic_task_wait_watch(client, seq_errors, 10000, NULL, note_status, &errored),
           "\"status\":\"errors\"");
    CHECK(errored.count == 1 && strcmp(errored.seen[0], "pending") == 0, "an execution that ends in errors");
    struct statuses stopped = {{{0}}, 0, pthread_self(), 0};
    AltogicCancel *token = altogic_cancel_new();
    pthread_t trigger;
    pthread_create(&trigger, NULL, trigger_later, token);
    EXPECT(altogic_task_wait_watch(client, "forever-watch-c-3", ALTOGIC_WAIT_FOREVER, token, note_status, &stopped),
           "\"code\":\"cancelled\"");
    pthread_join(trigger, NULL);
    altogic_cancel_free(token);
    CHECK(stopped.count == 1 && strcmp(stopped.seen[0], "processing") == 0, "a cancelled watch: processing, once");
    EXPECT(altogic_task_wait_watch(client, "already-done", 1000, NULL, NULL, NULL), "\"status\":\"completed\"");
    EXPECT(altogic_task_wait_watch(client, "..", 1000, NULL, note_status, &stopped), "\"code\":\"invalid_argument\"");

    AltogicQueue *queue = new_queue();
    CHECK(altogic_task_watch_start(client, seq_queue, 10000, queue, 7, NULL) == NULL, "watch started");
    const char *expected[] = {"\"status\":\"pending\"", "\"status\":\"processing\"", "\"status\":\"completed\""};
    int in_order = 1;
    for (int i = 0; i < 3; i++) {
        uint64_t tag = 0;
        char *r = altogic_queue_next(queue, 10000, &tag);
        in_order = in_order && r && tag == 7 && strstr(r, expected[i]) &&
                   strstr(r, i < 2 ? "\"final\":false" : "\"final\":true");
        altogic_string_free(r);
    }
    CHECK(in_order, "through a queue: pending, processing (final false), completed (final true)");
    CHECK(altogic_queue_next(queue, 0, NULL) == NULL, "nothing after the final result");
    CHECK(altogic_task_watch_start(client, NULL, 10000, queue, 8, NULL) == NULL, "a bad id starts");
    char *bad = altogic_queue_next(queue, 10000, NULL);
    CHECK(bad && strstr(bad, "\"code\":\"missing_required_value\"") && strstr(bad, "\"final\":true"),
          "its error is its one, final result");
    altogic_string_free(bad);
    altogic_queue_free(queue);
    altogic_client_free(client);
}

/* ---- The completion queue (C ABI 1.1) ---- */

static AltogicQueue *new_queue(void) {
    char *error = (char *)"untouched";
    AltogicQueue *queue = altogic_queue_new(&error);
    CHECK(queue != NULL, "queue created");
    CHECK(error == NULL, "*error_out set to NULL on success");
    return queue;
}

#if POSIX_ONLY
/* Whether the descriptor is readable, looking only (poll with timeout 0) or waiting. */
static int fd_readable(int fd, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}
#endif

static void test_queue_refused_starts(void) {
    AltogicClient *client = new_client(NULL);
    uint64_t tag = 42;
    CHECK(altogic_queue_fd(NULL) == -1, "fd of NULL is -1");
    CHECK(altogic_queue_next(NULL, 0, &tag) == NULL && tag == 42, "next on NULL answers NULL");
    CHECK(altogic_queue_next(NULL, 50, NULL) == NULL, "next on NULL with NULL tag_out");
    altogic_queue_free(NULL);
    EXPECT(altogic_task_run_once_start(client, "x", NULL, 1, NULL),
           "{\"status\":0,\"statusText\":\"Client Error\",\"items\":[{\"origin\":\"client_error\",\"code\":\"missing_required_value\"",
           "queue");
    EXPECT(altogic_task_get_status_start(client, "x", NULL, 2, NULL), "\"code\":\"missing_required_value\"");
    EXPECT(altogic_task_wait_start(client, "x", 10, NULL, 3, NULL), "\"code\":\"missing_required_value\"");
    /* A NULL queue wins over every other bad argument: nothing can carry their errors. */
    EXPECT(altogic_task_wait_start(NULL, NULL, 10, NULL, 4, NULL), "\"code\":\"missing_required_value\"");
    altogic_queue_free(NULL);
    altogic_client_free(client);
}

/* Argument errors come through the queue with their tags, exactly as the blocking calls
   answer them. */
static void test_queue_argument_errors(void) {
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    struct {
        char *started;
        char *blocking;
    } cases[7];
    cases[0].started = altogic_task_run_once_start(NULL, "x", queue, 0, NULL);
    cases[0].blocking = altogic_task_run_once(NULL, "x");
    cases[1].started = altogic_task_run_once_start(client, NULL, queue, 1, NULL);
    cases[1].blocking = altogic_task_run_once(client, NULL);
    cases[2].started = altogic_task_run_once_start(client, "", queue, 2, NULL);
    cases[2].blocking = altogic_task_run_once(client, "");
    cases[3].started = altogic_task_get_status_start(client, NULL, queue, 3, NULL);
    cases[3].blocking = altogic_task_get_status(client, NULL);
    cases[4].started = altogic_task_get_status_start(client, "..", queue, 4, NULL);
    cases[4].blocking = altogic_task_get_status(client, "..");
    cases[5].started = altogic_task_wait_start(client, "", 10, queue, 5, NULL);
    cases[5].blocking = altogic_task_wait(client, "", 10);
    cases[6].started = altogic_task_wait_start(client, "\xff", 10, queue, 6, NULL);
    cases[6].blocking = altogic_task_wait(client, "\xff", 10);
    enum { CASES = sizeof cases / sizeof cases[0] };
    char *results[CASES] = {0};
    int duplicates = 0, strays = 0;
    for (int i = 0; i < CASES; i++) {
        CHECK(cases[i].started == NULL, "a start with bad call arguments is accepted");
        altogic_string_free(cases[i].started);
    }
    for (int i = 0; i < CASES; i++) {
        uint64_t tag = UINT64_MAX;
        char *r = altogic_queue_next(queue, 5000, &tag);
        if (!r) break;
        if (tag >= CASES) strays++, altogic_string_free(r);
        else if (results[tag]) duplicates++, altogic_string_free(r);
        else results[tag] = r;
    }
    CHECK(duplicates == 0 && strays == 0, "each argument error comes once, with its tag");
    for (int i = 0; i < CASES; i++) {
        CHECK(results[i] && cases[i].blocking && strcmp(results[i], cases[i].blocking) == 0,
              "the queue answers an argument error as the blocking call does");
        if (results[i] && cases[i].blocking && strcmp(results[i], cases[i].blocking) != 0)
            fprintf(stderr, "  tag %d: queue %s\n  blocking %s\n", i, results[i], cases[i].blocking);
        altogic_string_free(results[i]);
        altogic_string_free(cases[i].blocking);
    }
    CHECK(altogic_queue_next(queue, 0, NULL) == NULL, "nothing more");
    altogic_queue_free(queue);
    altogic_client_free(client);
}

struct taker {
    AltogicQueue *queue;
    int *seen;
    int limit;
    int got;
    pthread_mutex_t *lock;
};

static void *take_results(void *arg) {
    struct taker *t = arg;
    for (;;) {
        uint64_t tag = UINT64_MAX;
        char *r = altogic_queue_next(t->queue, 3000, &tag);
        if (!r) break; /* nothing for 3 s: the main thread is done */
        int ok = strstr(r, "\"errors\":null}") != NULL;
        altogic_string_free(r);
        pthread_mutex_lock(t->lock);
        if (tag < (uint64_t)t->limit && ok) t->seen[tag]++;
        else t->seen[t->limit]++; /* strays and failures */
        t->got++;
        pthread_mutex_unlock(t->lock);
    }
    return NULL;
}

/* 200 started calls of all three kinds, taken by three threads at once: every tag once. */
static void test_queue_results_once_with_tags(void) {
    enum { N = 200 };
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    static int seen[N + 1];
    memset(seen, 0, sizeof seen);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct taker takers[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        takers[i] = (struct taker){queue, seen, N, 0, &lock};
        pthread_create(&threads[i], NULL, take_results, &takers[i]);
    }
    double started = now_ms();
    int refused = 0;
    for (int i = 0; i < N; i++) {
        char id[64];
        char *r;
        switch (i % 3) {
        case 0: r = altogic_task_run_once_start(client, "echo-queue", queue, (uint64_t)i, NULL); break;
        case 1: r = altogic_task_get_status_start(client, "echo-queue", queue, (uint64_t)i, NULL); break;
        default:
            snprintf(id, sizeof id, "seq-queue-%d-%d", i, (int)getpid());
            r = altogic_task_wait_start(client, id, 20000, queue, (uint64_t)i, NULL);
        }
        if (r) refused++;
        altogic_string_free(r);
    }
    for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    int once = 0, got = 0;
    for (int i = 0; i < N; i++) once += seen[i] == 1;
    for (int i = 0; i < 3; i++) got += takers[i].got;
    printf("queue: %d started calls (runOnce, getTaskStatus, wait) taken by 3 threads in %.0f ms\n",
           N, now_ms() - started - 3000);
    CHECK(refused == 0, "every start accepted");
    CHECK(once == N && seen[N] == 0 && got == N, "every result came exactly once, with its tag, without error");
    if (once != N || got != N) fprintf(stderr, "  %d of %d tags once, %d results, %d strays or errors\n", once, N, got, seen[N]);
    CHECK(takers[0].got > 0 || takers[1].got > 0 || takers[2].got > 0, "takers got results");
    /* The result is exactly the blocking call's JSON. */
    CHECK(altogic_task_run_once_start(client, "echo-queue-shape", queue, 7, NULL) == NULL, "started");
    uint64_t tag = 0;
    char *r = altogic_queue_next(queue, 10000, &tag);
    CHECK(tag == 7, "its tag");
    check_one_line(r);
    CHECK_HAS(r, "{\"info\":{\"taskId\":");
    CHECK_HAS(r, "\"method\":\"POST\",\"path\":\"/_api/rest/v1/task\"");
    CHECK_HAS(r, "[\"x-client-key\",\"c-client-key\"]");
    CHECK_HAS(r, "\"errors\":null}");
    altogic_string_free(r);
    altogic_queue_free(queue);
    altogic_client_free(client);
}

#if POSIX_ONLY
/* Readable iff a result waits: before, while one or two wait, after draining. */
static void test_queue_fd_readiness(void) {
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    int fd = altogic_queue_fd(queue);
    CHECK(fd >= 0, "a queue has a descriptor");
    CHECK(!fd_readable(fd, 0), "not readable while empty");
    /* Argument errors are delivered before the start returns. */
    altogic_string_free(altogic_task_get_status_start(client, NULL, queue, 1, NULL));
    CHECK(fd_readable(fd, 0), "readable once a result waits");
    altogic_string_free(altogic_task_get_status_start(client, NULL, queue, 2, NULL));
    CHECK(fd_readable(fd, 0), "readable with two waiting");
    uint64_t tag = 0;
    char *r = altogic_queue_next(queue, 0, &tag);
    CHECK(r != NULL && tag == 1, "first result, first tag");
    altogic_string_free(r);
    CHECK(fd_readable(fd, 0), "still readable: one waits");
    r = altogic_queue_next(queue, 0, &tag);
    CHECK(r != NULL && tag == 2, "second result");
    altogic_string_free(r);
    CHECK(!fd_readable(fd, 0), "not readable once drained");
    CHECK(altogic_queue_next(queue, 0, &tag) == NULL, "drained: next answers NULL");
    /* A call over the network: the descriptor wakes a poll when its result comes. */
    altogic_string_free(altogic_task_run_once_start(client, "slow", queue, 3, NULL));
    CHECK(!fd_readable(fd, 0), "not readable while the call runs");
    CHECK(fd_readable(fd, 10000), "poll wakes when the result comes");
    r = altogic_queue_next(queue, 0, &tag);
    CHECK(r != NULL && tag == 3, "the call's result");
    CHECK_HAS(r, "\"errors\":null}");
    altogic_string_free(r);
    CHECK(!fd_readable(fd, 0), "not readable once drained again");

    /* Edge-triggered (EPOLLET, as Go's poller watches it): every empty -> non-empty
       transition is a new event, also after a drain that did not make the fd quiet first. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event watch = {.events = EPOLLIN | EPOLLET, .data = {.u64 = 0}};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &watch) == 0, "the descriptor goes into epoll");
    struct epoll_event event;
    CHECK(epoll_wait(ep, &event, 1, 0) == 0, "no event while empty");
    int edges = 0;
    for (int round = 0; round < 5; round++) {
        altogic_string_free(altogic_task_run_once_start(client, "echo-edge", queue, 20 + round, NULL));
        if (epoll_wait(ep, &event, 1, 10000) == 1) edges++;
        CHECK(epoll_wait(ep, &event, 1, 0) == 0, "one event per arrival");
        r = altogic_queue_next(queue, 0, &tag);
        CHECK(r != NULL && tag == (uint64_t)(20 + round), "the arrival's result");
        altogic_string_free(r);
    }
    CHECK(edges == 5, "each empty -> non-empty transition is a new edge-triggered event");
    close(ep);
    altogic_queue_free(queue);
    altogic_client_free(client);
}
#endif

struct blocked_taker {
    AltogicQueue *queue;
    uint64_t timeout_ms;
    char *result;
    uint64_t tag;
    double returned_ms;
};

static void *take_one(void *arg) {
    struct blocked_taker *t = arg;
    t->result = altogic_queue_next(t->queue, t->timeout_ms, &t->tag);
    t->returned_ms = now_ms();
    return NULL;
}

static void test_queue_next_timeouts(void) {
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    uint64_t tag = 99;
    double started = now_ms();
    CHECK(altogic_queue_next(queue, 0, &tag) == NULL && tag == 99, "0 polls: NULL, tag untouched");
    double polled = now_ms() - started;
    started = now_ms();
    CHECK(altogic_queue_next(queue, 150, &tag) == NULL, "nothing within 150 ms: NULL");
    double waited = now_ms() - started;
    printf("queue: next(0) on an empty queue took %.2f ms, next(150) %.1f ms\n", polled, waited);
    CHECK(polled < 50, "next(0) does not wait");
    CHECK(waited >= 140 && waited < 2000, "next(150) waits about 150 ms");
    /* From another thread, waiting forever: the result of a call started here wakes it. */
    struct blocked_taker t = {queue, ALTOGIC_WAIT_FOREVER, NULL, 0, 0};
    pthread_t thread;
    pthread_create(&thread, NULL, take_one, &t);
    usleep(100 * 1000);
    altogic_string_free(altogic_task_run_once_start(client, "echo-other-thread", queue, 5, NULL));
    pthread_join(thread, NULL);
    CHECK(t.result != NULL && t.tag == 5, "a thread waiting forever gets the result");
    CHECK_HAS(t.result, "\"errors\":null}");
    altogic_string_free(t.result);
    /* A small timeout that a result beats. */
    altogic_string_free(altogic_task_run_once_start(client, "echo-small-timeout", queue, 6, NULL));
    char *r = altogic_queue_next(queue, 5000, &tag);
    CHECK(r != NULL && tag == 6, "next with a timeout returns as soon as the result comes");
    altogic_string_free(r);
    altogic_queue_free(queue);
    altogic_client_free(client);
}

static void test_queue_cancellation(void) {
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    /* Triggered before the start: the result is cancelled and nothing is sent. */
    AltogicCancel *early = altogic_cancel_new();
    altogic_cancel_trigger(early);
    altogic_string_free(altogic_task_run_once_start(client, "counted-c-queue-pre", queue, 1, early));
    altogic_string_free(altogic_task_wait_start(client, "counted-c-queue-pre", ALTOGIC_WAIT_FOREVER, queue, 2, early));
    /* The call keeps its own reference to the token. */
    altogic_cancel_free(early);
    int cancelled = 0;
    for (int i = 0; i < 2; i++) {
        char *r = altogic_queue_next(queue, 5000, NULL);
        if (r && strstr(r, "{\"info\":null,\"errors\":{\"status\":0,\"statusText\":\"Client Error\",\"items\":[{\"origin\":\"client_error\",\"code\":\"cancelled\""))
            cancelled++;
        altogic_string_free(r);
    }
    CHECK(cancelled == 2, "a token triggered before the start cancels the call");
    CHECK(seen_count(client, "counted-c-queue-pre") == 0, "a triggered token sends nothing");

    /* In flight: a wait without deadline, a stalled runOnce, a trickling body; one token. */
    AltogicCancel *token = altogic_cancel_new();
    altogic_string_free(altogic_task_wait_start(client, "forever-c-queue-cancel", ALTOGIC_WAIT_FOREVER, queue, 10, token));
    altogic_string_free(altogic_task_run_once_start(client, "stall", queue, 11, token));
    altogic_string_free(altogic_task_get_status_start(client, "drip", queue, 12, token));
    usleep(400 * 1000);
    CHECK(altogic_queue_next(queue, 0, NULL) == NULL, "nothing came before the trigger");
    double triggered = now_ms();
    altogic_cancel_trigger(token);
    int seen[3] = {0, 0, 0};
    double last = triggered;
    for (int i = 0; i < 3; i++) {
        uint64_t tag = 0;
        char *r = altogic_queue_next(queue, 5000, &tag);
        if (!r) break;
        last = now_ms();
        if (tag >= 10 && tag < 13 && strstr(r, "\"code\":\"cancelled\"")) seen[tag - 10]++;
        else fprintf(stderr, "  unexpected: tag %llu %s\n", (unsigned long long)tag, r);
        altogic_string_free(r);
    }
    printf("queue cancellation: 3 started calls in flight came out at most %.1f ms after the trigger\n",
           last - triggered);
    CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1, "each cancelled call came once, cancelled");
    CHECK(last - triggered < 1000, "cancelled started calls end soon after the trigger");
    altogic_cancel_free(token);
    altogic_queue_free(queue);
    altogic_client_free(client);
}

static void test_queue_client_freed_while_calls_run(void) {
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    char id[64];
    snprintf(id, sizeof id, "seq-c-queue-freed-%d", (int)getpid());
    altogic_string_free(altogic_task_run_once_start(client, "slow", queue, 1, NULL));
    altogic_string_free(altogic_task_wait_start(client, id, 20000, queue, 2, NULL));
    altogic_client_free(client); /* the calls keep what they need */
    int ok = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t tag = 0;
        char *r = altogic_queue_next(queue, 20000, &tag);
        if (r && ((tag == 1 && strstr(r, "\"errors\":null}")) ||
                  (tag == 2 && strstr(r, "\"status\":\"completed\"") && strstr(r, "\"errors\":null}"))))
            ok++;
        else fprintf(stderr, "  tag %llu: %s\n", (unsigned long long)tag, r ? r : "(NULL)");
        altogic_string_free(r);
    }
    CHECK(ok == 2, "calls started on a client freed meanwhile complete normally");
    altogic_queue_free(queue);
}

/* Freeing a queue with calls in flight (and results nobody took) cancels them and returns
   quickly; valgrind and LeakSanitizer check that nothing leaks. */
static void test_queue_free_with_calls_in_flight(void) {
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    enum { WAITS = 50 };
    int refused = 0;
    for (int i = 0; i < WAITS; i++) {
        char *r = altogic_task_wait_start(client, "forever-c-queue-free", ALTOGIC_WAIT_FOREVER, queue, (uint64_t)i, NULL);
        refused += r != NULL;
        altogic_string_free(r);
    }
    for (int i = 0; i < 3; i++) altogic_string_free(altogic_task_run_once_start(client, "stall", queue, 100, NULL));
    altogic_string_free(altogic_task_run_once_start(client, "drip", queue, 101, NULL));
    for (int i = 0; i < 5; i++) altogic_string_free(altogic_task_run_once_start(client, NULL, queue, 102, NULL));
    usleep(300 * 1000);
    /* A thread blocked in next wakes up with NULL when the queue is freed. */
    struct blocked_taker t = {queue, ALTOGIC_WAIT_FOREVER, NULL, 0, 0};
    /* Take the five argument errors first, so the taker then blocks. */
    for (int i = 0; i < 5; i++) altogic_string_free(altogic_queue_next(queue, 1000, NULL));
    pthread_t thread;
    pthread_create(&thread, NULL, take_one, &t);
    usleep(100 * 1000);
    /* And one result left for free to drop. */
    altogic_string_free(altogic_task_run_once_start(client, NULL, queue, 103, NULL));
    usleep(50 * 1000);
    double started = now_ms();
    altogic_queue_free(queue);
    double took = now_ms() - started;
    pthread_join(thread, NULL);
    printf("queue free: %d waits, 3 stalled and 1 trickling runOnce in flight: freed in %.1f ms\n", WAITS, took);
    CHECK(refused == 0, "all started");
    CHECK(took < 500, "altogic_queue_free returns quickly with calls in flight");
    CHECK(t.result == NULL || t.tag == 103, "a thread blocked in next answers NULL (or took the last result)");
    altogic_string_free(t.result);
    /* The client still works, and its connections were given back. */
    EXPECT(altogic_task_run_once(client, "echo-after-queue-free"), "\"errors\":null}");
    altogic_client_free(client);
}

/* 200 slow calls (300 ms each at the fixture) started at once take turns for the host's
   ALTOGIC_MAX_CONNECTIONS_PER_HOST connections: no more are in flight, and about as many are
   opened (a request that takes a turn while the connection of the one before is still on its
   way back to the pool races a new connection against it, as reqwest's pool does: the new
   one, idle, is closed after idleTimeoutMs). */
static void test_queue_connections_are_bounded(void) {
    enum { N = 200 };
    /* A connect timeout of its own: a pool of its own, so earlier connections do not count. */
    AltogicClient *client = new_client("{\"connectTimeoutMs\":9876}");
    AltogicQueue *queue = new_queue();
    double started = now_ms();
    for (int i = 0; i < N; i++)
        altogic_string_free(altogic_task_run_once_start(client, "slow", queue, (uint64_t)i, NULL));
    static int connections[N];
    int distinct = 0, ok = 0, most_in_flight = 0;
    for (int got = 0; got < N;) {
        char *r = altogic_queue_next(queue, 30000, NULL);
        if (!r) break;
        got++;
        ok += strstr(r, "\"errors\":null}") != NULL;
        const char *at = strstr(r, "\"maxInFlight\":");
        int in_flight = at ? atoi(at + strlen("\"maxInFlight\":")) : 0;
        if (in_flight > most_in_flight) most_in_flight = in_flight;
        int connection = connection_of(r), known = 0;
        for (int j = 0; j < distinct; j++) known = known || connections[j] == connection;
        if (!known && distinct < N) connections[distinct++] = connection;
        altogic_string_free(r);
    }
    printf("queue connections: %d slow calls started at once: %d connections, at most %d in flight at the "
           "fixture, all done in %.0f ms\n", N, distinct, most_in_flight, now_ms() - started);
    CHECK(ok == N, "every slow call succeeded");
    CHECK(distinct <= ALTOGIC_MAX_CONNECTIONS_PER_HOST + ALTOGIC_MAX_CONNECTIONS_PER_HOST / 8,
          "about as many connections as the host's turns");
    CHECK(most_in_flight <= ALTOGIC_MAX_CONNECTIONS_PER_HOST && most_in_flight >= 2,
          "calls beyond the bound waited their turn, those within it ran at once");
    altogic_queue_free(queue);
    altogic_client_free(client);
}

#if POSIX_ONLY
/* The library's threads (named altogic-runtime) and how many of them block SIGPIPE. */
static int library_threads(int *blocking_sigpipe) {
    int count = 0;
    *blocking_sigpipe = 0;
    DIR *tasks = opendir("/proc/self/task");
    struct dirent *task;
    while (tasks && (task = readdir(tasks)) != NULL) {
        if (task->d_name[0] == '.') continue;
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", task->d_name);
        FILE *comm = fopen(path, "r");
        int ours = comm && fgets(line, sizeof line, comm) && strncmp(line, "altogic-runtime", 15) == 0;
        if (comm) fclose(comm);
        if (!ours) continue;
        count++;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", task->d_name);
        FILE *status = fopen(path, "r");
        while (status && fgets(line, sizeof line, status))
            if (strncmp(line, "SigBlk:", 7) == 0) {
                unsigned long long blocked = strtoull(line + 7, NULL, 16);
                /* SIGPIPE, and the process's signals too (they go to the program's threads). */
                if ((blocked >> (SIGPIPE - 1)) & (blocked >> (SIGINT - 1)) & (blocked >> (SIGTERM - 1)) & 1)
                    (*blocking_sigpipe)++;
            }
        if (status) fclose(status);
    }
    if (tasks) closedir(tasks);
    return count;
}
#endif

#if POSIX_ONLY
/* Thousands of started calls, several queues, blocking calls beside them: at most 3 library
   threads in all (one that runs calls, up to 2 for host-name lookups). */
static void test_queue_thread_count(void) {
    enum { N = 3000 };
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queues[2] = {new_queue(), new_queue()};
    long peak = 0;
    int got = 0, ok = 0;
    double started = now_ms();
    for (int i = 0; i < N; i++) {
        AltogicQueue *queue = queues[i % 2];
        char *r = i % 2 ? altogic_task_get_status_start(client, "echo-threads", queue, (uint64_t)i, NULL)
                        : altogic_task_wait_start(client, "done-at-once", 10000, queue, (uint64_t)i, NULL);
        altogic_string_free(r);
    }
    int unused = 0;
    while (got < N && now_ms() - started < 120000) {
        long threads = library_threads(&unused);
        if (threads > peak) peak = threads;
        for (int q = 0; q < 2; q++) {
            char *r;
            while ((r = altogic_queue_next(queues[q], 0, NULL)) != NULL) {
                got++;
                ok += strstr(r, "\"errors\":null}") != NULL;
                altogic_string_free(r);
            }
        }
        if (got < N) fd_readable(altogic_queue_fd(queues[0]), 20);
    }
    /* A host name (not an IP address) is resolved on the runtime's one lookup thread. */
    char url[128];
    const char *port = strrchr(fixture_url, ':');
    snprintf(url, sizeof url, "http://localhost%s", port ? port : "");
    AltogicClient *named = altogic_client_new(url, "k", NULL, NULL);
    enum { NAMED = 200 };
    for (int i = 0; i < NAMED; i++)
        altogic_string_free(altogic_task_get_status_start(named, "echo-localhost", queues[0], (uint64_t)i, NULL));
    int named_ok = 0, named_got = 0;
    while (named_got < NAMED && now_ms() - started < 120000) {
        long threads = library_threads(&unused);
        if (threads > peak) peak = threads;
        /* A blocking call to the named host beside the started ones: the same threads. */
        if (named_got % 50 == 0) altogic_string_free(altogic_task_get_status(named, "echo-blocking"));
        char *r = altogic_queue_next(queues[0], 100, NULL);
        if (!r) continue;
        named_got++;
        named_ok += strstr(r, "\"errors\":null}") != NULL;
        altogic_string_free(r);
    }
    CHECK(named_ok == NAMED, "calls to a host name (localhost) come back without error");
    int blocking = 0, ours = library_threads(&blocking);
    printf("queue threads: %d named altogic-runtime, %d of them with SIGPIPE, SIGINT and SIGTERM blocked\n",
           ours, blocking);
    CHECK(ours >= 1 && ours <= 3 && blocking == ours, "the library's threads block SIGPIPE and the process's signals");
    altogic_client_free(named);
    long after = library_threads(&unused);
    if (after > peak) peak = after;
    printf("queue threads: %d started calls on 2 queues, %d to localhost, in %.0f ms; library threads "
           "at most %ld during, %ld after\n", N, NAMED, now_ms() - started, peak, after);
    CHECK(got == N && ok == N, "every started call came back without error");
    CHECK(peak <= 3, "at most 3 library threads");
    altogic_queue_free(queues[0]);
    altogic_queue_free(queues[1]);
    altogic_client_free(client);
}
#endif

#if POSIX_ONLY
/* A child inherits a queue but not the library's threads: it may only free it, and may make
   queues of its own. */
static void test_queue_fork(void) {
    AltogicClient *client = new_client(NULL);
    AltogicQueue *queue = new_queue();
    altogic_string_free(altogic_task_run_once_start(client, NULL, queue, 1, NULL)); /* one waiting */
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        int ok = 1;
        char *refused = altogic_task_run_once_start(client, "echo-in-child", queue, 2, NULL);
        ok = ok && refused && strstr(refused, "\"code\":\"invalid_argument\"") && strstr(refused, "another process");
        altogic_string_free(refused);
        double started = now_ms();
        ok = ok && altogic_queue_next(queue, 2000, NULL) == NULL && now_ms() - started < 500;
        altogic_queue_free(queue);
        AltogicQueue *own = altogic_queue_new(NULL);
        ok = ok && own && altogic_task_run_once_start(client, "echo-child-queue", own, 3, NULL) == NULL;
        uint64_t tag = 0;
        char *r = own ? altogic_queue_next(own, 10000, &tag) : NULL;
        ok = ok && r && tag == 3 && strstr(r, "\"errors\":null}");
        altogic_string_free(r);
        altogic_queue_free(own);
        _exit(ok ? 0 : 1);
    }
    CHECK(child > 0, "fork");
    CHECK(wait_child(child, 20) == 0, "a child refuses the inherited queue, frees it, and uses its own");
    uint64_t tag = 0;
    char *r = altogic_queue_next(queue, 1000, &tag);
    CHECK(r != NULL && tag == 1, "the parent's queue is untouched by the child");
    altogic_string_free(r);
    altogic_string_free(altogic_task_run_once_start(client, "echo-parent-after-fork", queue, 4, NULL));
    r = altogic_queue_next(queue, 10000, &tag);
    CHECK(r != NULL && tag == 4 && strstr(r, "\"errors\":null}"), "the parent's queue keeps working");
    altogic_string_free(r);
    altogic_queue_free(queue);
    altogic_client_free(client);
}
#endif

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE_URL\n", argv[0]);
        return 2;
    }
    fixture_url = argv[1];
    const char *no_fork = getenv("ALTOGIC_TEST_NO_FORK");

    test_version();
    test_json_get();
    test_client_new_refuses_bad_input();
    test_shared_bad_input();
    test_bad_call_arguments();
    test_run_once_on_the_wire();
    test_get_status_on_the_wire();
    test_error_answers();
    test_limits_and_failures();
    test_sessions();
    test_error_items_are_well_formed();
#if POSIX_ONLY
    test_no_sigpipe_on_a_reset_connection();
#endif
    test_wait();
    test_cancellation();
    test_connection_reuse();
    test_threads_share_one_client();
    test_threads_that_exit_release_their_connections();
    test_clients_are_cheap();
    const char *no_fork_while_calling = getenv("ALTOGIC_TEST_NO_FORK_WHILE_CALLING");
#if POSIX_ONLY
    if (!(no_fork && *no_fork == '1')) {
        test_fork();
        if (!(no_fork_while_calling && *no_fork_while_calling == '1')) test_fork_while_threads_call();
    }
#endif

    test_log_records();
    test_watch();
    test_queue_refused_starts();
    test_queue_argument_errors();
    test_queue_results_once_with_tags();
#if POSIX_ONLY
    test_queue_fd_readiness();
#else
    {
        AltogicQueue *queue = new_queue();
        CHECK(altogic_queue_fd(queue) == -1, "no readiness descriptor on Windows");
        altogic_queue_free(queue);
    }
#endif
    test_queue_next_timeouts();
    test_queue_cancellation();
    test_queue_client_freed_while_calls_run();
    test_queue_free_with_calls_in_flight();
    test_queue_connections_are_bounded();
#if POSIX_ONLY
    test_queue_thread_count();
    /* The library's threads exist from the first call on: forking now is forking while
       another thread may be inside the allocator (see ALTOGIC_TEST_NO_FORK_WHILE_CALLING). */
    if (!(no_fork && *no_fork == '1') && !(no_fork_while_calling && *no_fork_while_calling == '1'))
        test_queue_fork();
#else
    (void)no_fork;
    (void)no_fork_while_calling;
#endif

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
