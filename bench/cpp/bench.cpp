// The C++ API's benchmark (include/altogic.hpp): runOnce calls per second and per-call
// latency, from the calling thread alone or from N std::threads sharing one altogic::Client.
//
//   bench-cpp URL SECONDS THREADS...     (0: sequential, on the calling thread)
//
// One JSON object per line on stdout, the same fields as bench/c/bench.c prints (with
// cpu_us_per_call: getrusage(RUSAGE_SELF) user + system over the measured interval, per call). Every answer
// must start with {"info":{ and end with "errors":null}; anything else counts as an error.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "altogic.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Worker {
    std::vector<std::uint64_t> latency_ns;
    std::uint64_t errors = 0;
    std::string first_error;
};

// user + system CPU time of the whole process, µs
double process_cpu_us() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

bool answer_ok(const std::string &r) {
    static const std::string head = "{\"info\":{", tail = "\"errors\":null}";
    return r.size() >= head.size() + tail.size() && r.compare(0, head.size(), head) == 0 &&
           r.compare(r.size() - tail.size(), tail.size(), tail) == 0;
}

void loop(const altogic::Client &client, Clock::time_point deadline, Worker &w) {
    w.latency_ns.reserve(65536);
    for (;;) {
        auto t0 = Clock::now();
        if (t0 >= deadline) break;
        std::string r = client.run_once("billOnDemand");
        auto t1 = Clock::now();
        if (!answer_ok(r) && w.errors++ == 0) w.first_error = r;
        w.latency_ns.push_back(
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    }
}

std::string json_string(const std::string &s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

void run_cell(const altogic::Client &client, int threads, double seconds, bool report) {
    std::vector<Worker> workers(static_cast<std::size_t>(std::max(threads, 1)));
    auto span = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    double cpu0 = process_cpu_us();
    auto start = Clock::now();
    if (threads == 0) {
        loop(client, start + span, workers[0]);
    } else {
        std::atomic<bool> go{false};
        std::vector<std::thread> pool;
        Clock::time_point deadline;
        for (int i = 0; i < threads; i++)
            pool.emplace_back([&, i] {
                while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
                loop(client, deadline, workers[static_cast<std::size_t>(i)]);
            });
        cpu0 = process_cpu_us();
        start = Clock::now();
        deadline = start + span;
        go.store(true, std::memory_order_release);
        for (auto &t : pool) t.join();
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu_us = process_cpu_us() - cpu0;
    if (!report) return;
    std::vector<std::uint64_t> all;
    std::uint64_t errors = 0;
    std::string first_error;
    for (auto &w : workers) {
        all.insert(all.end(), w.latency_ns.begin(), w.latency_ns.end());
        errors += w.errors;
        if (first_error.empty()) first_error = w.first_error;
    }
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
        if (all.empty()) return 0.0;
        return static_cast<double>(all[static_cast<std::size_t>(p / 100.0 * static_cast<double>(all.size() - 1) + 0.5)]) / 1000.0;
    };
    std::printf("{\"threads\":%d,\"calls\":%zu,\"seconds\":%.6f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                "\"cpu_us_per_call\":%.2f,\"errors\":%llu,\"first_error\":%s}\n",
                threads, all.size(), elapsed, pct(50), pct(99),
                all.empty() ? 0.0 : cpu_us / static_cast<double>(all.size()), static_cast<unsigned long long>(errors),
                json_string(first_error).c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s URL SECONDS THREADS...\n", argv[0]);
        return 1;
    }
    try {
        altogic::Client client(argv[1], "demo-client-key");
        double seconds = std::atof(argv[2]);
        for (int i = 3; i < argc; i++) {
            int threads = std::atoi(argv[i]);
            run_cell(client, threads, 0.2, false);
            run_cell(client, threads, seconds, true);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench-cpp: %s\n", e.what());
        return 1;
    }
    return 0;
}
