/*
 * altogic.hpp: the C++17 API of the Altogic task-manager client (libaltogic), header-only,
 * over the C API of altogic.h. Link with the same library (-laltogic or libaltogic.a).
 *
 *   altogic::Client client("https://myapp.c1-na.altogic.com", "client-key");
 *   std::string started = client.run_once("billOnDemand");   // {"info":{...},"errors":null}
 *   altogic::Cancel cancel;                                   // cancel.trigger() from any thread
 *   std::string ended = client.wait(task_id, std::chrono::seconds(60), cancel);
 *
 *   altogic::Queue queue;                                     // many calls at once, no thread each
 *   queue.start_run_once(client, "billOnDemand", 1);          // returns at once
 *   auto done = queue.next(std::chrono::seconds(10));         // {tag, result JSON}, or nullopt
 *
 *   client.watch(task_id, std::chrono::minutes(5),            // each status as it changes,
 *                [](std::string_view info) { ... });          // then the final result JSON
 *   altogic::set_log_callback(altogic::LogLevel::info,        // the library's log records,
 *       [](altogic::LogLevel, std::string_view record) { ... }); // one-line JSON each
 *
 * What it adds to the C API, and nothing else:
 * - RAII: altogic::Client, altogic::Cancel and altogic::Queue free their handles; every
 *   string the library returns is freed by this header, whatever throws (no leak, never
 *   free()).
 * - Exceptions where C returns an error object: a client or a queue that cannot be created,
 *   a refused session token and a refused start on a queue throw altogic::Error (a
 *   std::runtime_error carrying the APIError JSON and its code). Task calls do not throw for failed calls: like the C functions and
 *   the official client, they answer the JSON {"info":...,"errors":...}; read it with the
 *   JSON library of your choice.
 * - C++ strings: std::string_view arguments; one holding a NUL byte, which a C string
 *   cannot carry, throws std::invalid_argument.
 * - C++ callables for the C callbacks (Client::watch, altogic::set_log_callback): lambdas,
 *   std::function; an exception they throw never unwinds through the C library (see each).
 *
 * Thread-safety: one Client may be used by many threads at once (its calls run
 * concurrently); set_session is safe while other threads make calls. A Cancel may be
 * triggered from any thread while calls use it. Destroy a Client or a Cancel only when no
 * call is using it. A Queue may be used by many threads at once (starts and next); calls
 * started on it keep their own references to the Client and the Cancel they were given, so
 * those may be destroyed while the calls run.
 */
#ifndef ALTOGIC_HPP
#define ALTOGIC_HPP

#include "altogic.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace altogic {

namespace detail {

struct StringDeleter {
    void operator()(char *s) const noexcept { altogic_string_free(s); }
};

/** A string the library returned, freed by altogic_string_free when it goes out of scope. */
using LibraryString = std::unique_ptr<char, StringDeleter>;

/** Copies a library string into a std::string and frees it (also if the copy throws). */
inline std::string take(char *s) {
    LibraryString owned(s);
    return owned ? std::string(owned.get()) : std::string();
}

/** A NUL-terminated copy of an argument; throws std::invalid_argument on a NUL byte. */
inline std::string c_string(std::string_view value, const char *name) {
    if (value.find('\0') != std::string_view::npos)
        throw std::invalid_argument(std::string("altogic: ") + name +
                                    " contains a NUL byte, which a C string cannot carry");
    return std::string(value);
}

/** The value at a JSON Pointer of JSON the library wrote (altogic_json_get), or "". */
inline std::string json_get(const std::string &json, const char *pointer) {
    return take(altogic_json_get(json.c_str(), pointer));
}

} // namespace detail

/**
 * The value at a JSON Pointer (RFC 6901) of a result or error the library returned, as
 * altogic_json_get reads it: a string's text, any other value's JSON, or std::nullopt when
 * there is none (or it is null). E.g. altogic::json_get(result, "/info/taskId").
 */
inline std::optional<std::string> json_get(const std::string &json, const char *pointer) {
    detail::LibraryString value(altogic_json_get(json.c_str(), pointer));
    if (!value) return std::nullopt;
    return std::string(value.get());
}

/**
 * A failure reported by the library as an APIError object
 * ({"status":...,"statusText":...,"items":[{"origin","code","message","details"}]}).
 * what() is the first item's message; code() its code, e.g. "invalid_env_url".
 */
class Error : public std::runtime_error {
  public:
    explicit Error(std::string api_error_json)
        : std::runtime_error(detail::json_get(api_error_json, "/items/0/message")),
          json_(std::move(api_error_json)), code_(detail::json_get(json_, "/items/0/code")) {}

    /** The whole APIError object as compact JSON. */
    const std::string &json() const noexcept { return json_; }
    /** The code of the first item. */
    const std::string &code() const noexcept { return code_; }

  private:
    std::string json_;
    std::string code_;
};

/**
 * A cancellation token (RAII over AltogicCancel). Pass it to a call; trigger() from any
 * thread makes every call using it return within milliseconds with code "cancelled", and
 * every later call using it return at once. Not copyable; movable while no call uses it.
 */
class Cancel {
  public:
    Cancel() : token_(altogic_cancel_new()) {
        if (!token_) throw std::bad_alloc();
    }
    ~Cancel() { altogic_cancel_free(token_); }
    Cancel(const Cancel &) = delete;
    Cancel &operator=(const Cancel &) = delete;
    Cancel(Cancel &&other) noexcept : token_(std::exchange(other.token_, nullptr)) {}
    Cancel &operator=(Cancel &&other) noexcept {
        if (this != &other) {
            altogic_cancel_free(token_);
            token_ = std::exchange(other.token_, nullptr);
        }
        return *this;
    }

    /** Cancels every call using this token; idempotent, never blocks. */
    void trigger() const noexcept { altogic_cancel_trigger(token_); }
    /** Whether trigger() was called. */
    bool triggered() const noexcept { return altogic_cancel_is_triggered(token_) != 0; }
    /** The C handle, still owned by this object. */
    const AltogicCancel *get() const noexcept { return token_; }

  private:
    AltogicCancel *token_;
};

/**
 * A client of one Altogic app environment (RAII over AltogicClient). Movable, not
 * copyable; shared by reference between threads. A moved-from Client answers every call
 * with a missing_required_value error rather than crashing.
 */
class Client {
  public:
    /** Waits with no deadline of its own (ALTOGIC_WAIT_FOREVER): a Cancel decides. */
    static constexpr std::chrono::milliseconds wait_forever = std::chrono::milliseconds::max();

    /**
     * Creates a client; throws altogic::Error when the library refuses the arguments
     * (codes missing_required_value, invalid_argument, invalid_env_url).
     * options_json: empty, or the JSON object altogic_client_new documents (apiKey,
     * session, timeoutMs, connectTimeoutMs, maxResponseBytes).
     */
    Client(std::string_view env_url, std::string_view client_key,
           std::string_view options_json = {}) {
        const std::string url = detail::c_string(env_url, "env_url");
        const std::string key = detail::c_string(client_key, "client_key");
        const std::string options = detail::c_string(options_json, "options_json");
        char *error = nullptr;
        AltogicClient *client = altogic_client_new(url.c_str(), key.c_str(),
                                                   options.empty() ? nullptr : options.c_str(), &error);
        if (!client) throw Error(detail::take(error));
        client_.reset(client);
    }

    /** runOnce: the JSON {"info":TaskInfo|null,"errors":APIError|null}. */
    std::string run_once(std::string_view task_name_or_id) const {
        return run_once_with(task_name_or_id, nullptr);
    }
    /** runOnce, ended early by `cancel`. */
    std::string run_once(std::string_view task_name_or_id, const Cancel &cancel) const {
        return run_once_with(task_name_or_id, cancel.get());
    }

    /** getTaskStatus: the JSON result; info and errors both null once the execution is gone. */
    std::string get_status(std::string_view task_id) const { return get_status_with(task_id, nullptr); }
    /** getTaskStatus, ended early by `cancel`. */
    std::string get_status(std::string_view task_id, const Cancel &cancel) const {
        return get_status_with(task_id, cancel.get());
    }

    /**
     * Waits for the execution to end (see altogic_task_wait): the JSON result of the last
     * poll. `timeout` zero polls once; wait_forever waits without a deadline of its own.
     * A negative timeout throws std::invalid_argument.
     */
    std::string wait(std::string_view task_id, std::chrono::milliseconds timeout) const {
        return wait_with(task_id, timeout, nullptr);
    }
    /** wait, ended early by `cancel`. */
    std::string wait(std::string_view task_id, std::chrono::milliseconds timeout,
                     const Cancel &cancel) const {
        return wait_with(task_id, timeout, cancel.get());
    }

    /** Sets the Session header's token, or clears it with std::nullopt; throws altogic::Error. */
    void set_session(std::optional<std::string_view> token) {
        std::optional<std::string> copy;
        if (token) copy = detail::c_string(*token, "session_token");
        char *error = altogic_client_set_session(client_.get(), copy ? copy->c_str() : nullptr);
        if (error) throw Error(detail::take(error));
    }

    /** The current session token, or std::nullopt. */
    std::optional<std::string> session() const {
        char *token = altogic_client_get_session(client_.get());
        if (!token) return std::nullopt;
        return detail::take(token);
    }

    /** The C handle, still owned by this object. */
    const AltogicClient *get() const noexcept { return client_.get(); }

  private:
    struct ClientDeleter {
        void operator()(AltogicClient *client) const noexcept { altogic_client_free(client); }
    };

    std::string run_once_with(std::string_view name, const AltogicCancel *cancel) const {
        const std::string arg = detail::c_string(name, "task_name_or_id");
        return detail::take(altogic_task_run_once_cancellable(client_.get(), arg.c_str(), cancel));
    }

    std::string get_status_with(std::string_view task_id, const AltogicCancel *cancel) const {
        const std::string arg = detail::c_string(task_id, "task_id");
        return detail::take(altogic_task_get_status_cancellable(client_.get(), arg.c_str(), cancel));
    }

    std::string wait_with(std::string_view task_id, std::chrono::milliseconds timeout,
                          const AltogicCancel *cancel) const {
        if (timeout.count() < 0) throw std::invalid_argument("altogic: a wait's timeout cannot be negative");
        const std::string arg = detail::c_string(task_id, "task_id");
        const std::uint64_t timeout_ms =
            timeout == wait_forever ? ALTOGIC_WAIT_FOREVER : static_cast<std::uint64_t>(timeout.count());
        return detail::take(altogic_task_wait_cancellable(client_.get(), arg.c_str(), timeout_ms, cancel));
    }

    std::unique_ptr<AltogicClient, ClientDeleter> client_;
};

/**
 * A completion queue (RAII over AltogicQueue): calls started on it run on the library's own
 * thread, without a thread of the caller's each, and their results come out of next(), each
 * with the tag given at its start, exactly once. fd() is readable while a result waits, for
 * the program's own event loop (epoll, poll, boost::asio's posix::stream_descriptor with
 * async_wait): drain with next() (zero timeout) until it answers std::nullopt.
 *
 * A start never waits for the network and throws altogic::Error only when the call did not
 * start (a moved-from Queue: missing_required_value; a queue of another process); argument
 * errors (an empty task id, a moved-from Client) come out of next() as the call's result,
 * exactly as the blocking call answers them. Movable, not copyable. The destructor cancels
 * the calls still running, drops results nobody took, and returns within 100 ms; a thread
 * blocked in next() on it then answers std::nullopt, but none may call it afterwards.
 */
class Queue {
  public:
    /** Waits until a result comes (ALTOGIC_WAIT_FOREVER). */
    static constexpr std::chrono::milliseconds wait_forever = std::chrono::milliseconds::max();

    /** A tag and the result JSON {"info":...,"errors":...} of one started call. */
    using Result = std::pair<std::uint64_t, std::string>;

    /** Creates a queue; the first call of the process starts the library's threads. Throws altogic::Error. */
    Queue() {
        char *error = nullptr;
        queue_ = altogic_queue_new(&error);
        if (!queue_) throw Error(detail::take(error));
    }
    ~Queue() { altogic_queue_free(queue_); }
    Queue(const Queue &) = delete;
    Queue &operator=(const Queue &) = delete;
    Queue(Queue &&other) noexcept : queue_(std::exchange(other.queue_, nullptr)) {}
    Queue &operator=(Queue &&other) noexcept {
        if (this != &other) {
            altogic_queue_free(queue_);
            queue_ = std::exchange(other.queue_, nullptr);
        }
        return *this;
    }

    /** Starts runOnce; its result comes out of next() with `tag`. */
    void start_run_once(const Client &client, std::string_view task_name_or_id, std::uint64_t tag) {
        start_run_once_with(client, task_name_or_id, tag, nullptr);
    }
    /** Starts runOnce, ended early by `cancel` (which may be destroyed once this returns). */
    void start_run_once(const Client &client, std::string_view task_name_or_id, std::uint64_t tag,
                        const Cancel &cancel) {
        start_run_once_with(client, task_name_or_id, tag, cancel.get());
    }

    /** Starts getTaskStatus; its result comes out of next() with `tag`. */
    void start_get_status(const Client &client, std::string_view task_id, std::uint64_t tag) {
        start_get_status_with(client, task_id, tag, nullptr);
    }
    /** Starts getTaskStatus, ended early by `cancel`. */
    void start_get_status(const Client &client, std::string_view task_id, std::uint64_t tag,
                          const Cancel &cancel) {
        start_get_status_with(client, task_id, tag, cancel.get());
    }

    /**
     * Starts a wait (see altogic_task_wait_start); its result comes out of next() with `tag`.
     * `timeout` zero polls once; Client::wait_forever waits without a deadline of its own. A
     * negative timeout throws std::invalid_argument.
     */
    void start_wait(const Client &client, std::string_view task_id, std::chrono::milliseconds timeout,
                    std::uint64_t tag) {
        start_wait_with(client, task_id, timeout, tag, nullptr);
    }
    /** Starts a wait, ended early by `cancel`. */
    void start_wait(const Client &client, std::string_view task_id, std::chrono::milliseconds timeout,
                    std::uint64_t tag, const Cancel &cancel) {
        start_wait_with(client, task_id, timeout, tag, cancel.get());
    }

    /**
     * The next result and its tag, waiting up to `timeout` (zero only looks; wait_forever
     * waits); std::nullopt when nothing came in time. Safe from any thread. A negative
     * timeout throws std::invalid_argument.
     */
    std::optional<Result> next(std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) {
        if (timeout.count() < 0) throw std::invalid_argument("altogic: next's timeout cannot be negative");
        const std::uint64_t timeout_ms =
            timeout == wait_forever ? ALTOGIC_WAIT_FOREVER : static_cast<std::uint64_t>(timeout.count());
        std::uint64_t tag = 0;
        char *result = altogic_queue_next(queue_, timeout_ms, &tag);
        if (!result) return std::nullopt;
        std::string json = detail::take(result);
        return Result(tag, std::move(json));
    }

    /** The readiness descriptor (never read or close it); -1 for a moved-from Queue. */
    int fd() const noexcept { return altogic_queue_fd(queue_); }

    /** The C handle, still owned by this object. */
    AltogicQueue *get() const noexcept { return queue_; }

  private:
    static void started(char *refused) {
        if (refused) throw Error(detail::take(refused));
    }

    void start_run_once_with(const Client &client, std::string_view name, std::uint64_t tag,
                             const AltogicCancel *cancel) {
        const std::string arg = detail::c_string(name, "task_name_or_id");
        started(altogic_task_run_once_start(client.get(), arg.c_str(), queue_, tag, cancel));
    }

    void start_get_status_with(const Client &client, std::string_view task_id, std::uint64_t tag,
                               const AltogicCancel *cancel) {
        const std::string arg = detail::c_string(task_id, "task_id");
        started(altogic_task_get_status_start(client.get(), arg.c_str(), queue_, tag, cancel));
    }

    void start_wait_with(const Client &client, std::string_view task_id, std::chrono::milliseconds timeout,
                         std::uint64_t tag, const AltogicCancel *cancel) {
        if (timeout.count() < 0) throw std::invalid_argument("altogic: a wait's timeout cannot be negative");
        const std::string arg = detail::c_string(task_id, "task_id");
        const std::uint64_t timeout_ms =
            timeout == Client::wait_forever ? ALTOGIC_WAIT_FOREVER : static_cast<std::uint64_t>(timeout.count());
        started(altogic_task_wait_start(client.get(), arg.c_str(), timeout_ms, queue_, tag, cancel));
    }

    AltogicQueue *queue_;
};

} // namespace altogic

#endif /* ALTOGIC_HPP */
