// The C++ API (include/altogic.hpp) against the fixture server whose URL is argv[1].
// Run by tests/c/run.sh with AddressSanitizer, LeakSanitizer and UBSan.
// Ends with the line "N passed, N failed"; exits non-zero when anything failed.
#include "altogic.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

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

    altogic::Client moved = std::move(client);
    CHECK_HAS(moved.run_once("echo-moved"), "\"errors\":null}");
    CHECK_HAS(client.run_once("echo-moved-from"), "\"code\":\"missing_required_value\"");
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
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
