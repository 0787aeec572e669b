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
 * those may be destroyed while the calls run. set_log_callback and clear_log_callback may be
 * called from any thread; the log function runs on the library's threads (see there).
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

/** ALTOGIC_WAIT_FOREVER for std::chrono::milliseconds::max(), else the count; throws on a negative one. */
inline std::uint64_t wait_timeout_ms(std::chrono::milliseconds timeout, const char *negative) {
    if (timeout.count() < 0) throw std::invalid_argument(negative);
    return timeout == std::chrono::milliseconds::max() ? ALTOGIC_WAIT_FOREVER
                                                       : static_cast<std::uint64_t>(timeout.count());
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
 * The levels of the library's log records (ALTOGIC_LOG_OFF .. ALTOGIC_LOG_DEBUG): a callback
 * set at one level gets the records of that level and of the more important ones.
 */
enum class LogLevel : int {
    off = ALTOGIC_LOG_OFF,       ///< no record: removes the callback
    error = ALTOGIC_LOG_ERROR,   ///< something failed that the program should look at
    warn = ALTOGIC_LOG_WARN,     ///< a bound was hit (response_too_large, error_items_dropped)
    info = ALTOGIC_LOG_INFO,     ///< a request sent again (retry)
    debug = ALTOGIC_LOG_DEBUG,   ///< each request, connection opened, poll of a wait, call cancelled
};

/** A log function: the record's level and the record, a one-line JSON object (see set_log_callback). */
using LogFunction = std::function<void(LogLevel level, std::string_view record)>;

namespace detail {

/**
 * The process's one log function, reached by the C callback through its userdata. The
 * function is held by a shared_ptr: each record copies the pointer (under `current_lock`,
 * held for the copy only) and calls the function through its copy, so a function replaced
 * or removed while a library thread runs it stays alive until that call returned, and is
 * freed by whichever of the two lets go last (possibly a library thread).
 */
struct LogRegistry {
    std::mutex setting;      // one set or clear at a time: the function and the C level change together
    std::mutex current_lock; // guards `current`
    std::shared_ptr<const LogFunction> current;
    std::atomic<std::uint64_t> exceptions{0};
};

inline LogRegistry &log_registry() {
    // Never destroyed (and still reachable, so no leak to report): a library thread may log
    // while static objects are destroyed at exit, and must not find this gone.
    static LogRegistry *const registry = new LogRegistry();
    return *registry;
}

/** The AltogicLogCallback: calls the current function; nothing thrown ever leaves it. */
inline void log_trampoline(int level, const char *record, void *userdata) noexcept {
    auto *registry = static_cast<LogRegistry *>(userdata);
    if (!registry || !record) return;
    try {
        std::shared_ptr<const LogFunction> function;
        {
            std::lock_guard<std::mutex> lock(registry->current_lock);
            function = registry->current;
        }
        if (function && *function) (*function)(static_cast<LogLevel>(level), std::string_view(record));
    } catch (...) {
        registry->exceptions.fetch_add(1, std::memory_order_relaxed);
    }
}

} // namespace detail

/**
 * Removes the log callback (altogic_set_log_callback(ALTOGIC_LOG_OFF, NULL, NULL)): no record
 * is delivered to a function once this returned, except those a library thread was already
 * delivering (the function stays alive for them, see set_log_callback). Then ALTOGIC_LOG=debug
 * in the environment writes lines to stderr again. Safe from any thread.
 */
inline void clear_log_callback() {
    detail::LogRegistry &registry = detail::log_registry();
    std::lock_guard<std::mutex> setting(registry.setting);
    altogic_set_log_callback(ALTOGIC_LOG_OFF, nullptr, nullptr);
    std::shared_ptr<const LogFunction> previous;
    {
        std::lock_guard<std::mutex> lock(registry.current_lock);
        previous = std::move(registry.current);
        registry.current.reset();
    }
}

/**
 * Sends the library's log records of `level` and more important levels to `function`, for
 * the whole process, replacing the function set before (altogic_set_log_callback). Each
 * record is a one-line JSON object ({"event":"request","level":"debug","client":1,...}; see
 * altogic.h for its fields): never a key, a session token or a proxy's password. Records
 * below `level` are not even built. LogLevel::off or an empty function removes the
 * callback, as clear_log_callback() does.
 *
 * `function` is called on the library's threads, on several at once: it must be
 * thread-safe, return quickly (the call that logged waits meanwhile), and call no function
 * of this library or header (set_log_callback and clear_log_callback included). An
 * exception it throws is caught before it reaches the library: that record is dropped, and
 * log_callback_exceptions() counts it; the function stays set.
 *
 * Lifetime: the function is copied into a heap object this header keeps (a shared_ptr).
 * When it is replaced or removed while a library thread is running it, it is kept alive
 * until that call returned, then destroyed (on that thread). So what it captures must stay
 * valid for as long as the function object lives: capture by value or by shared_ptr, not a
 * reference to a local that may be gone by then. Safe from any thread; throws
 * std::invalid_argument for a level outside LogLevel, std::bad_alloc when memory runs out.
 */
inline void set_log_callback(LogLevel level, LogFunction function) {
    if (level == LogLevel::off || !function) {
        clear_log_callback();
        return;
    }
    if (static_cast<int>(level) < ALTOGIC_LOG_ERROR || static_cast<int>(level) > ALTOGIC_LOG_DEBUG)
        throw std::invalid_argument("altogic: not a log level");
    auto next = std::make_shared<const LogFunction>(std::move(function));
    detail::LogRegistry &registry = detail::log_registry();
    std::lock_guard<std::mutex> setting(registry.setting);
    std::shared_ptr<const LogFunction> previous;
    {
        std::lock_guard<std::mutex> lock(registry.current_lock);
        previous = std::exchange(registry.current, std::move(next));
    }
    altogic_set_log_callback(static_cast<int>(level), detail::log_trampoline, &registry);
}

/** How many records were dropped because the log function threw, since the process started. */
inline std::uint64_t log_callback_exceptions() noexcept {
    return detail::log_registry().exceptions.load(std::memory_order_relaxed);
}

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

    /**
     * wait, showing the execution as it goes (altogic_task_wait_watch): `on_status`, any
     * callable taking a std::string_view (a lambda, a std::function), is called on the
     * calling thread, before watch returns, with the TaskInfo JSON of the first status the
     * wait's polls find and then of each new one (pending, processing...); the view is valid
     * during the call only. The final status is not passed to it: it is in the result, exactly
     * what wait returns. Watching makes no request of its own (these are the wait's polls).
     * on_status may use this library (not destroy this Client or the Cancel), and should
     * return soon: the polls go on meanwhile.
     *
     * An exception thrown by on_status never crosses the C library: it is caught there, no
     * further status is passed to on_status, and watch rethrows it once the C call returned
     * (the result is dropped). Without a Cancel, the wait is cancelled at once (a token of
     * its own) so the exception comes within milliseconds; with a Cancel, which is the
     * caller's and may serve other calls, nothing triggers it: the wait goes on until it
     * ends, its timeout passes or that Cancel is triggered, then the exception is rethrown.
     * A negative timeout throws std::invalid_argument.
     */
    template <typename OnStatus>
    std::string watch(std::string_view task_id, std::chrono::milliseconds timeout, OnStatus &&on_status) const {
        return watch_with(task_id, timeout, on_status, nullptr);
    }
    /** watch, ended early by `cancel` (which an exception of on_status leaves untouched). */
    template <typename OnStatus>
    std::string watch(std::string_view task_id, std::chrono::milliseconds timeout, OnStatus &&on_status,
                      const Cancel &cancel) const {
        return watch_with(task_id, timeout, on_status, &cancel);
    }

    /**
     * The client's number (altogic_client_id), which its log records carry as "client": 1 for
     * the process's first client, then 2, and so on; 0 for a moved-from Client.
     */
    std::uint64_t id() const noexcept { return altogic_client_id(client_.get()); }

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
        const std::uint64_t timeout_ms =
            detail::wait_timeout_ms(timeout, "altogic: a wait's timeout cannot be negative");
        const std::string arg = detail::c_string(task_id, "task_id");
        return detail::take(altogic_task_wait_cancellable(client_.get(), arg.c_str(), timeout_ms, cancel));
    }

    /** What the AltogicStatusCallback of a watch reaches through its userdata. */
    template <typename OnStatus> struct Watching {
        OnStatus &on_status;
        const AltogicCancel *stop; // triggered when on_status throws (the watch's own token), or NULL
        std::exception_ptr failure;

        static void call(const char *task_info, void *userdata) noexcept {
            auto *self = static_cast<Watching *>(userdata);
            if (self->failure || !task_info) return;
            try {
                self->on_status(std::string_view(task_info));
            } catch (...) {
                self->failure = std::current_exception();
                altogic_cancel_trigger(self->stop);
            }
        }
    };

    template <typename OnStatus>
    std::string watch_with(std::string_view task_id, std::chrono::milliseconds timeout, OnStatus &on_status,
                           const Cancel *cancel) const {
        static_assert(std::is_invocable_v<OnStatus &, std::string_view>,
                      "altogic: on_status must be callable with a std::string_view");
        const std::uint64_t timeout_ms =
            detail::wait_timeout_ms(timeout, "altogic: a wait's timeout cannot be negative");
        const std::string arg = detail::c_string(task_id, "task_id");
        std::optional<Cancel> own;
        if (!cancel) own.emplace();
        Watching<OnStatus> watching{on_status, own ? own->get() : nullptr, nullptr};
        std::string result = detail::take(altogic_task_wait_watch(client_.get(), arg.c_str(), timeout_ms,
                                                                  cancel ? cancel->get() : own->get(),
                                                                  &Watching<OnStatus>::call, &watching));
        if (watching.failure) std::rethrow_exception(watching.failure);
        return result;
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
     * Starts a watched wait (see altogic_task_watch_start): every status change comes out of
     * next() with `tag` as it is found, as {"info":TaskInfo,"errors":null,"final":false} (the
     * first status the polls find, then each new one: the wait's own polls, no extra
     * request), and last the wait's own result, as start_wait would give it, with
     * "final":true. So one start gives one or more results with `tag`; is_final() tells
     * the last. `timeout` as for start_wait; a negative one throws std::invalid_argument.
     */
    void start_watch(const Client &client, std::string_view task_id, std::chrono::milliseconds timeout,
                     std::uint64_t tag) {
        start_watch_with(client, task_id, timeout, tag, nullptr);
    }
    /** Starts a watched wait, ended early by `cancel`. */
    void start_watch(const Client &client, std::string_view task_id, std::chrono::milliseconds timeout,
                     std::uint64_t tag, const Cancel &cancel) {
        start_watch_with(client, task_id, timeout, tag, cancel.get());
    }

    /**
     * Whether a result is the last its call gives: false only for the status changes of a
     * start_watch ("final":false); true for a watch's final result ("final":true) and for
     * the one result of every other start (which has no "final" field).
     */
    static bool is_final(const std::string &result_json) {
        return detail::json_get(result_json, "/final") != "false";
    }
    /** is_final of the result's JSON. */
    static bool is_final(const Result &result) { return is_final(result.second); }

    /**
     * The next result and its tag, waiting up to `timeout` (zero only looks; wait_forever
     * waits); std::nullopt when nothing came in time. Safe from any thread. A negative
     * timeout throws std::invalid_argument.
     */
    std::optional<Result> next(std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) {
        const std::uint64_t timeout_ms =
            detail::wait_timeout_ms(timeout, "altogic: next's timeout cannot be negative");
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
        const std::uint64_t timeout_ms =
            detail::wait_timeout_ms(timeout, "altogic: a wait's timeout cannot be negative");
        const std::string arg = detail::c_string(task_id, "task_id");
        started(altogic_task_wait_start(client.get(), arg.c_str(), timeout_ms, queue_, tag, cancel));
    }

    void start_watch_with(const Client &client, std::string_view task_id, std::chrono::milliseconds timeout,
                          std::uint64_t tag, const AltogicCancel *cancel) {
        const std::uint64_t timeout_ms =
            detail::wait_timeout_ms(timeout, "altogic: a wait's timeout cannot be negative");
        const std::string arg = detail::c_string(task_id, "task_id");
        started(altogic_task_watch_start(client.get(), arg.c_str(), timeout_ms, queue_, tag, cancel));
    }

    AltogicQueue *queue_;
};

} // namespace altogic

#endif /* ALTOGIC_HPP */
