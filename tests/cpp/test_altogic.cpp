// The C++ API (include/altogic.hpp) against the fixture server whose URL is argv[1].
// Run by tests/c/run.sh with AddressSanitizer, LeakSanitizer and UBSan.
// Ends with the line "N passed, N failed"; exits non-zero when anything failed.
#include "altogic.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

int passed = 0, failed = 0;
std::string fixture_url;

void check(bool condition, const std::string &what, int line) {
    if (condition) {
        passed++;
    } else {
        failed++;
        std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, line, what.c_str());
    }
}
#define CHECK(cond, what) check((cond), (what), __LINE__)

bool contains(const std::string &text, const std::string &needle) {
    return text.find(needle) != std::string::npos;
}
#define CHECK_HAS(text, needle) check(contains((text), (needle)), std::string("expected ") + (needle) + " in " + (text), __LINE__)

/** The altogic::Error code a constructor call throws, or "" when it does not throw one. */
template <typename F> std::string error_code_of(F make) {
    try {
        make();
    } catch (const altogic::Error &error) {
        return error.code();
    }
    return "";
}

template <typename F> bool throws_invalid_argument(F call) {
    try {
        call();
    } catch (const std::invalid_argument &) {
        return true;
    }
    return false;
}

void test_construction_errors() {
    try {
        altogic::Client client("myapp.altogic.com", "k");
        CHECK(false, "a bad URL throws");
    } catch (const altogic::Error &error) {
        CHECK(error.code() == "invalid_env_url", "code of a bad URL: " + error.code());
        CHECK_HAS(std::string(error.what()), "does not start with http:// or https://");
        CHECK_HAS(error.json(), "{\"status\":0,\"statusText\":\"Client Error\",\"items\":[{");
        const std::runtime_error &base = error;
        CHECK(base.what() == error.what(), "altogic::Error is a std::runtime_error");
    }
    CHECK(error_code_of([] { altogic::Client("", "k"); }) == "missing_required_value", "empty URL");
    CHECK(error_code_of([] { altogic::Client(fixture_url, "k", "{\"timeout\":5}"); }) == "invalid_argument",
          "unknown option");
    CHECK(throws_invalid_argument([] { altogic::Client(fixture_url, std::string("k\0x", 3)); }),
          "a NUL byte in an argument throws std::invalid_argument");
}

void test_calls() {
    const altogic::Client client(fixture_url, "cpp-client-key", "{\"apiKey\":\"cpp-api-key\"}");
    std::string run = client.run_once("echo-cpp");
    CHECK_HAS(run, "\"errors\":null}");
    CHECK_HAS(run, "[\"x-client-key\",\"cpp-client-key\"]");
    CHECK_HAS(run, "[\"authorization\",\"cpp-api-key\"]");
    CHECK_HAS(client.get_status("../x?y"), "\"path\":\"/_api/rest/v1/task/..%2Fx%3Fy\"");
    CHECK_HAS(client.get_status("error-array"), "{\"info\":null,\"errors\":{\"status\":404");
    CHECK(client.get_status("expired-null") == "{\"info\":null,\"errors\":null}", "expired execution");
    CHECK_HAS(client.wait("seq-cpp-wait", std::chrono::seconds(10)), "\"status\":\"completed\"");
    CHECK_HAS(client.wait("forever-cpp", std::chrono::milliseconds(200)), "\"code\":\"timeout\"");
    CHECK(throws_invalid_argument([&] { client.wait("x", std::chrono::milliseconds(-1)); }),
          "a negative timeout throws std::invalid_argument");
    CHECK(throws_invalid_argument([&] { client.run_once(std::string("a\0b", 3)); }), "NUL in a task name");
}

void test_cancellation() {
    const altogic::Client client(fixture_url, "k");
    altogic::Cancel early;
    early.trigger();
    CHECK(early.triggered(), "triggered");
    CHECK_HAS(client.run_once("counted-cpp-pre", early), "\"code\":\"cancelled\"");
    CHECK_HAS(client.get_status("count-of-counted-cpp-pre"), "\"seen\":0");

    altogic::Cancel cancel;
    CHECK(!cancel.triggered(), "a new token is not triggered");
    std::string result;
    auto started = std::chrono::steady_clock::now();
    std::thread waiter([&] { result = client.wait("forever-cpp-cancel", altogic::Client::wait_forever, cancel); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto triggered = std::chrono::steady_clock::now();
    cancel.trigger();
    waiter.join();
    auto late = std::chrono::steady_clock::now() - triggered;
    CHECK_HAS(result, "{\"info\":null,\"errors\":{\"status\":0");
    CHECK_HAS(result, "\"code\":\"cancelled\"");
    CHECK(late < std::chrono::seconds(1), "a wait without deadline ends soon after the trigger");
    CHECK(triggered - started >= std::chrono::milliseconds(300), "the wait ran until the trigger");

    altogic::Cancel moved = std::move(cancel);
    CHECK(moved.triggered(), "a moved token keeps its state");
    CHECK(!cancel.triggered() && cancel.get() == nullptr, "a moved-from token is empty");
}

void test_sessions_and_moves() {
    altogic::Client client(fixture_url, "k");
    CHECK(!client.session(), "no session at first");
    client.set_session("cpp-session");
    CHECK(client.session() == std::optional<std::string>("cpp-session"), "session read back");
    CHECK_HAS(client.run_once("echo-session"), "[\"session\",\"cpp-session\"]");
    CHECK(error_code_of([&] { client.set_session("a\nb"); }) == "invalid_argument", "CR/LF refused");
    CHECK(error_code_of([&] { client.set_session(""); }) == "missing_required_value", "empty refused");
    CHECK(client.session() == std::optional<std::string>("cpp-session"), "a refused token changes nothing");
    client.set_session(std::nullopt);
    CHECK(!client.session(), "cleared");

    const std::uint64_t id = client.id();
    altogic::Client moved = std::move(client);
    CHECK_HAS(moved.run_once("echo-moved"), "\"errors\":null}");
    CHECK_HAS(client.run_once("echo-moved-from"), "\"code\":\"missing_required_value\"");
    CHECK(id > 0 && moved.id() == id && client.id() == 0, "a moved client keeps its number; a moved-from one has 0");
    CHECK(altogic::Client(fixture_url, "k").id() > moved.id(), "later clients have larger numbers");
}

void test_threads_share_a_client() {
    const altogic::Client client(fixture_url, "k");
    std::vector<std::string> results(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < results.size(); i++)
        threads.emplace_back([&, i] { results[i] = client.run_once("slow"); });
    for (auto &thread : threads) thread.join();
    bool together = false;
    for (const auto &result : results) {
        CHECK_HAS(result, "\"errors\":null}");
        together = together || !contains(result, "\"maxInFlight\":1,");
    }
    CHECK(together, "calls from several threads run at once");
}

void test_queue() {
    const altogic::Client client(fixture_url, "cpp-queue-key");
    altogic::Queue queue;
    CHECK(queue.fd() >= 0, "a queue has a descriptor");
    CHECK(!queue.next(), "an empty queue answers nullopt");
    queue.start_run_once(client, "echo-cpp-queue", 1);
    queue.start_get_status(client, "", 2);       // an argument error, through the queue
    queue.start_wait(client, "done-at-once", std::chrono::seconds(10), 3);
    std::string results[4];
    int strays = 0;
    for (int i = 0; i < 3; i++) {
        auto result = queue.next(std::chrono::seconds(10));
        if (!result) break;
        if (result->first >= 1 && result->first <= 3 && results[result->first].empty())
            results[result->first] = std::move(result->second);
        else
            strays++;
    }
    CHECK(strays == 0, "each result once, with its tag");
    CHECK_HAS(results[1], "[\"x-client-key\",\"cpp-queue-key\"]");
    CHECK_HAS(results[1], "\"errors\":null}");
    CHECK(results[2] == client.get_status(""), "an argument error comes as the blocking call answers it");
    CHECK_HAS(results[2], "\"code\":\"missing_required_value\"");
    CHECK_HAS(results[3], "\"status\":\"completed\"");
    CHECK(!queue.next(std::chrono::milliseconds(20)), "nothing more");
    CHECK(throws_invalid_argument([&] { queue.start_run_once(client, std::string("a\0b", 3), 9); }),
          "NUL in a task name");
    CHECK(throws_invalid_argument([&] { queue.start_wait(client, "x", std::chrono::milliseconds(-1), 9); }),
          "a negative wait timeout");
    CHECK(throws_invalid_argument([&] { queue.next(std::chrono::milliseconds(-1)); }), "a negative next timeout");

    // Cancellation: the token may go away once the call started.
    auto started = std::chrono::steady_clock::now();
    {
        altogic::Cancel cancel;
        queue.start_wait(client, "forever-cpp-queue", altogic::Client::wait_forever, 10, cancel);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        cancel.trigger();
    }
    auto cancelled = queue.next(std::chrono::seconds(5));
    CHECK(cancelled && cancelled->first == 10, "the cancelled wait's result");
    CHECK(cancelled && contains(cancelled->second, "\"code\":\"cancelled\""), "it is cancelled");
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2), "soon after the trigger");

    // next from another thread, waiting forever.
    std::optional<altogic::Queue::Result> taken;
    std::thread taker([&] { taken = queue.next(altogic::Queue::wait_forever); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    queue.start_run_once(client, "echo-cpp-other-thread", 11);
    taker.join();
    CHECK(taken && taken->first == 11, "a thread waiting forever gets the result");

    // Moves: the moved-to queue works, the moved-from one refuses starts by throwing.
    altogic::Queue moved = std::move(queue);
    moved.start_run_once(client, "echo-cpp-moved", 12);
    auto after_move = moved.next(std::chrono::seconds(10));
    CHECK(after_move && after_move->first == 12, "a moved queue keeps working");
    CHECK(queue.fd() == -1 && queue.get() == nullptr && !queue.next(), "a moved-from queue is empty");
    try {
        queue.start_run_once(client, "x", 13);
        CHECK(false, "a start on a moved-from queue throws");
    } catch (const altogic::Error &error) {
        CHECK(error.code() == "missing_required_value", "code of a refused start: " + error.code());
    }

    // Destroyed with calls in flight: quickly, and LeakSanitizer sees nothing left.
    auto freeing = std::chrono::steady_clock::now();
    {
        altogic::Queue busy;
        for (std::uint64_t i = 0; i < 20; i++)
            busy.start_wait(client, "forever-cpp-queue-free", altogic::Client::wait_forever, i);
        busy.start_run_once(client, "stall", 99);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        freeing = std::chrono::steady_clock::now();
    }
    CHECK(std::chrono::steady_clock::now() - freeing < std::chrono::milliseconds(500),
          "a queue with calls in flight is destroyed quickly");
}


/** Ids of this process alone: the fixture counts the polls of each id across runs of the suite. */
std::string unique(const std::string &id) { return id + "-" + std::to_string(static_cast<long>(getpid())); }

/** Log records captured by a std::function; shared with it, so it outlives every call of it. */
struct Capture {
    std::mutex lock;
    std::vector<std::string> records;
    bool levels_match = true; // each record's "level" field is the LogLevel it came with
};

/** How many captured records hold `a` and (when given) `b`. */
int records_with(Capture &capture, const std::string &a, const std::string &b = "") {
    std::lock_guard<std::mutex> lock(capture.lock);
    int count = 0;
    for (const auto &record : capture.records)
        count += contains(record, a) && (b.empty() || contains(record, b));
    return count;
}

std::size_t records_count(Capture &capture) {
    std::lock_guard<std::mutex> lock(capture.lock);
    return capture.records.size();
}

const char *level_name(altogic::LogLevel level) {
    switch (level) {
    case altogic::LogLevel::error: return "\"level\":\"error\"";
    case altogic::LogLevel::warn: return "\"level\":\"warn\"";
    case altogic::LogLevel::info: return "\"level\":\"info\"";
    case altogic::LogLevel::debug: return "\"level\":\"debug\"";
    default: return "(no level)";
    }
}

altogic::LogFunction capturing(const std::shared_ptr<Capture> &capture) {
    return [capture](altogic::LogLevel level, std::string_view record) {
        std::lock_guard<std::mutex> lock(capture->lock);
        capture->records.emplace_back(record);
        capture->levels_match = capture->levels_match && contains(capture->records.back(), level_name(level));
    };
}

/** Triggers `cancel` after `delay`, on a thread of its own (join it). */
std::thread trigger_later(const altogic::Cancel &cancel, std::chrono::milliseconds delay) {
    return std::thread([&cancel, delay] {
        std::this_thread::sleep_for(delay);
        cancel.trigger();
    });
}

/* The records of a retried call, a reconnect and a cancelled wait, with no secret in them;
   nothing below the level, nothing once removed; a log function that throws. */
void test_log_records() {
    const altogic::Client client(fixture_url, "cpp-log-client-key",
                                 "{\"apiKey\":\"cpp-secret-api-key\",\"session\":\"cpp-secret-session\"}");
    auto capture = std::make_shared<Capture>();
    altogic::set_log_callback(altogic::LogLevel::debug, capturing(capture));
    const std::string id = "\"client\":" + std::to_string(client.id());
    CHECK(client.id() > 0, "a client has a number");

    client.run_once("echo-cpp-log");
    client.get_status("reset-get-cpp-log");       // sent twice
    client.run_once("close-after-cpp-log-1");     // the server closes
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    client.run_once("close-after-cpp-log-2");     // a new connection
    altogic::Cancel cancel;
    std::thread trigger = trigger_later(cancel, std::chrono::milliseconds(300));
    CHECK_HAS(client.wait("forever-cpp-log", altogic::Client::wait_forever, cancel), "\"code\":\"cancelled\"");
    trigger.join();

    CHECK(records_with(*capture, "\"event\":\"request\"", id) >= 5, "a record per request, with the client's number");
    CHECK(records_with(*capture, "\"event\":\"request\"", "\"path\":\"/_api/rest/v1/task\"") >= 3,
          "requests name their path");
    CHECK(records_with(*capture, "\"event\":\"retry\"", "\"attempt\":2") == 1, "the GET sent again is a retry record");
    CHECK(records_with(*capture, "\"event\":\"request\"", "\"attempt\":2") == 1, "and its request says attempt 2");
    CHECK(records_with(*capture, "\"event\":\"connection_opened\"", id) >= 2, "the reconnect is a connection_opened record");
    CHECK(records_with(*capture, "\"path\":\"/_api/rest/v1/task\"", "\"connection\":\"new\"") >= 2,
          "requests on new connections say so");
    CHECK(records_with(*capture, "\"event\":\"poll\"", "\"taskId\":\"forever-cpp-log\"") >= 1, "a wait's polls");
    CHECK(records_with(*capture, "\"event\":\"cancelled\"", "\"call\":\"wait\"") == 1, "the cancelled wait");
    CHECK(records_with(*capture, "secret") == 0, "no API key or session token in any record");
    CHECK(records_with(*capture, "cpp-log-client-key") == 0, "no client key in any record");
    {
        std::lock_guard<std::mutex> lock(capture->lock);
        CHECK(capture->levels_match, "each record comes with its own level");
        bool one_line = true;
        for (const auto &record : capture->records)
            one_line = one_line && !record.empty() && record.front() == '{' && record.back() == '}' &&
                       !contains(record, "\n");
        CHECK(one_line, "records are one-line JSON objects");
    }

    // Below its level, nothing comes (a request is a debug record); nothing once removed,
    // whether by clear_log_callback, LogLevel::off or an empty function.
    altogic::set_log_callback(altogic::LogLevel::info, capturing(capture));
    std::size_t before = records_count(*capture);
    client.run_once("echo-cpp-log-info");
    CHECK(records_count(*capture) == before, "no record below the level");
    altogic::clear_log_callback();
    client.run_once("echo-cpp-log-cleared");
    altogic::set_log_callback(altogic::LogLevel::debug, capturing(capture));
    altogic::set_log_callback(altogic::LogLevel::off, capturing(capture));
    client.run_once("echo-cpp-log-off");
    altogic::set_log_callback(altogic::LogLevel::debug, capturing(capture));
    altogic::set_log_callback(altogic::LogLevel::debug, altogic::LogFunction());
    client.run_once("echo-cpp-log-empty");
    CHECK(records_count(*capture) == before, "none once removed");
    CHECK(throws_invalid_argument([&] { altogic::set_log_callback(static_cast<altogic::LogLevel>(7), capturing(capture)); }),
          "not a level");

    // A log function that throws: caught before the library, counted; calls go on as before.
    std::atomic<int> thrown{0};
    const std::uint64_t exceptions = altogic::log_callback_exceptions();
    altogic::set_log_callback(altogic::LogLevel::debug, [&thrown](altogic::LogLevel, std::string_view) {
        thrown++;
        throw std::runtime_error("from the log function");
    });
    CHECK_HAS(client.run_once("echo-cpp-log-throws"), "\"errors\":null}");
    CHECK_HAS(client.wait(unique("seq-cpp-log-throws"), std::chrono::seconds(10)), "\"status\":\"completed\"");
    altogic::clear_log_callback();
    CHECK(thrown > 0, "the throwing function was called");
    CHECK(altogic::log_callback_exceptions() - exceptions == static_cast<std::uint64_t>(thrown.load()),
          "each exception is caught and counted");
}

/* Replacing the function while library threads run it frees nothing they still use
   (AddressSanitizer would see a use after free). */
void test_log_callback_replaced_while_running() {
    const altogic::Client client(fixture_url, "k");
    std::atomic<bool> done{false};
    std::atomic<long> calls{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 2; t++)
        callers.emplace_back([&] {
            for (int i = 0; i < 40; i++) client.run_once("echo-cpp-log-replaced");
        });
    std::thread replacer([&] {
        for (int i = 0; !done; i++) {
            auto text = std::make_shared<std::string>("function " + std::to_string(i));
            altogic::set_log_callback(altogic::LogLevel::debug, [text, &calls](altogic::LogLevel, std::string_view record) {
                // Reads what it captured, slowly, while the next one replaces it.
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                if (!text->empty() && !record.empty()) calls++;
            });
            if (i % 5 == 4) altogic::clear_log_callback();
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    });
    for (auto &caller : callers) caller.join();
    done = true;
    replacer.join();
    altogic::clear_log_callback();
    CHECK(calls > 0, "the functions were called while being replaced");
}

/* A lambda watch: each status as it changes, on the calling thread; completed, errors and
   cancelled; an exception from the lambda. Through a queue: a result per status, the last final. */
void test_watch() {
    const altogic::Client client(fixture_url, "k");
    std::vector<std::string> seen;
    const std::thread::id caller = std::this_thread::get_id();
    bool other_thread = false;
    auto note = [&](std::string_view info) {
        seen.push_back(altogic::json_get(std::string(info), "/status").value_or("(none)"));
        other_thread = other_thread || std::this_thread::get_id() != caller;
    };

    std::string result = client.watch(unique("seq-watch-cpp-1"), std::chrono::seconds(10), note);
    CHECK_HAS(result, "\"status\":\"completed\"");
    CHECK_HAS(result, "\"errors\":null}");
    CHECK((seen == std::vector<std::string>{"pending", "processing"}) && !other_thread,
          "pending, then processing, on the calling thread; completed is the result");

    seen.clear();
    std::function<void(std::string_view)> as_function = note;
    CHECK_HAS(client.watch(unique("seq-errors-watch-cpp-2"), std::chrono::seconds(10), as_function),
              "\"status\":\"errors\"");
    CHECK(seen == std::vector<std::string>{"pending"}, "an execution that ends in errors (a std::function)");

    seen.clear();
    altogic::Cancel cancel;
    std::thread trigger = trigger_later(cancel, std::chrono::milliseconds(300));
    CHECK_HAS(client.watch("forever-watch-cpp-3", altogic::Client::wait_forever, note, cancel), "\"code\":\"cancelled\"");
    trigger.join();
    CHECK(seen == std::vector<std::string>{"processing"}, "a cancelled watch: processing, once");

    seen.clear();
    CHECK_HAS(client.watch("..", std::chrono::seconds(1), note), "\"code\":\"invalid_argument\"");
    CHECK(seen.empty(), "an id refused before any poll: no status");
    CHECK(throws_invalid_argument([&] { client.watch("x", std::chrono::milliseconds(-1), note); }), "a negative timeout");
    CHECK(throws_invalid_argument([&] { client.watch(std::string("a\0b", 3), std::chrono::seconds(1), note); }),
          "NUL in a task id");

    // An exception from the lambda never crosses C: rethrown once the call returned. Without
    // a Cancel, the wait is cancelled at once.
    int calls = 0;
    auto throwing = [&](std::string_view) {
        calls++;
        throw std::runtime_error("from the watch");
    };
    auto started = std::chrono::steady_clock::now();
    std::string what;
    try {
        client.watch("forever-watch-cpp-throws", altogic::Client::wait_forever, throwing);
    } catch (const std::runtime_error &error) {
        what = error.what();
    }
    CHECK(what == "from the watch", "the lambda's exception is rethrown: " + what);
    CHECK(calls == 1, "the lambda is not called after it threw");
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2), "a watch without Cancel stops at once");

    // With the caller's Cancel: left untouched; the wait goes on to its end, then the rethrow.
    calls = 0;
    what.clear();
    altogic::Cancel untouched;
    try {
        client.watch(unique("seq-watch-cpp-throws"), std::chrono::seconds(10), throwing, untouched);
    } catch (const std::runtime_error &error) {
        what = error.what();
    }
    CHECK(what == "from the watch" && calls == 1 && !untouched.triggered(),
          "with a Cancel: rethrown after the wait, the Cancel not triggered");
    CHECK_HAS(client.get_status(unique("seq-watch-cpp-throws")), "\"status\":\"completed\"");

    // Through a queue.
    altogic::Queue queue;
    queue.start_watch(client, unique("seq-watch-cpp-q-4"), std::chrono::seconds(10), 7);
    const char *expected[] = {"\"status\":\"pending\"", "\"status\":\"processing\"", "\"status\":\"completed\""};
    bool in_order = true;
    for (int i = 0; i < 3; i++) {
        auto r = queue.next(std::chrono::seconds(10));
        in_order = in_order && r && r->first == 7 && contains(r->second, expected[i]) &&
                   altogic::Queue::is_final(*r) == (i == 2) &&
                   contains(r->second, i < 2 ? "\"final\":false" : "\"final\":true");
    }
    CHECK(in_order, "through a queue: pending, processing (not final), completed (final)");
    CHECK(!queue.next(std::chrono::milliseconds(20)), "nothing after the final result");
    queue.start_watch(client, "", std::chrono::seconds(10), 8);
    auto bad = queue.next(std::chrono::seconds(10));
    CHECK(bad && bad->first == 8 && contains(bad->second, "\"code\":\"missing_required_value\"") &&
              altogic::Queue::is_final(*bad),
          "a bad id: its error is its one, final result");
    {
        altogic::Cancel stop;
        queue.start_watch(client, "forever-watch-cpp-q-5", altogic::Client::wait_forever, 9, stop);
        auto first = queue.next(std::chrono::seconds(10));
        CHECK(first && first->first == 9 && !altogic::Queue::is_final(*first) && contains(first->second, "processing"),
              "a watch that goes on: processing, not final");
        stop.trigger();
    }
    auto stopped = queue.next(std::chrono::seconds(5));
    CHECK(stopped && stopped->first == 9 && altogic::Queue::is_final(*stopped) &&
              contains(stopped->second, "\"code\":\"cancelled\""),
          "a cancelled queued watch: final, cancelled");
    queue.start_run_once(client, "echo-cpp-final", 10);
    auto plain = queue.next(std::chrono::seconds(10));
    CHECK(plain && altogic::Queue::is_final(*plain), "the one result of another start is final");
    CHECK(throws_invalid_argument([&] { queue.start_watch(client, "x", std::chrono::milliseconds(-1), 11); }),
          "a negative watch timeout");
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FIXTURE_URL\n", argv[0]);
        return 2;
    }
    fixture_url = argv[1];
    test_construction_errors();
    test_calls();
    test_cancellation();
    test_sessions_and_moves();
    test_threads_share_a_client();
    test_queue();
    test_log_records();
    test_log_callback_replaced_while_running();
    test_watch();
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
