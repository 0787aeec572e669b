// Runs an Altogic scheduled task now and waits for it to end, with the C++ API.
//
//   run_task_cpp ENV_URL CLIENT_KEY TASK_NAME_OR_ID
//
// Prints the pending TaskInfo, then the final one. Ctrl-C cancels the wait cleanly.
// Exits 0 when the task completed, 1 when it ended in errors, 2 when a call failed.
// The results are JSON; altogic::json_get reads a field by its JSON Pointer, so this
// example needs no JSON library.
#include "altogic.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

namespace {

// The value at `pointer` in a result, or "".
std::string field(const std::string &json, const char *pointer) {
    return altogic::json_get(json, pointer).value_or("");
}

volatile std::sig_atomic_t interrupted = 0;

} // namespace

int main(int argc, char **argv) {
    if (argc != 4) {
        std::cerr << "usage: " << argv[0] << " ENV_URL CLIENT_KEY TASK_NAME_OR_ID\n";
        return 2;
    }
    try {
        const altogic::Client client(argv[1], argv[2], R"({"timeoutMs":10000})");
        const std::string started = client.run_once(argv[3]);
        const std::string task_id = field(started, "/info/taskId");
        if (task_id.empty()) {
            std::cerr << "runOnce " << argv[3] << " failed: " << started << "\n";
            return 2;
        }
        std::cout << argv[3] << ": " << field(started, "/info/status") << " (execution " << task_id << ")\n";

        // The wait runs on a thread; Ctrl-C triggers its token instead of killing the process.
        altogic::Cancel cancel;
        std::signal(SIGINT, [](int) { interrupted = 1; });
        std::string ended;
        std::atomic<bool> done{false};
        std::thread waiter([&] {
            ended = client.wait(task_id, std::chrono::seconds(60), cancel);
            done = true;
        });
        while (!done) {
            if (interrupted && !cancel.triggered()) cancel.trigger();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        waiter.join();
        std::cout << argv[3] << ": final " << ended << "\n";
        const std::string status = field(ended, "/info/status");
        return status == "completed" ? 0 : status == "errors" ? 1 : 2;
    } catch (const altogic::Error &error) {
        std::cerr << "could not create the client (" << error.code() << "): " << error.what() << "\n";
        return 2;
    }
}
