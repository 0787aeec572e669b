/*
 * altogic.hpp: the C++17 API of the Altogic task-manager client (libaltogic), header-only,
 * over the C API of altogic.h. Link with the same library (-laltogic or libaltogic.a).
 *
 *   altogic::Client client("https://myapp.c1-na.altogic.com", "client-key");
 *   std::string started = client.run_once("billOnDemand");   // {"info":{...},"errors":null}
 *   altogic::Cancel cancel;                                   // cancel.trigger() from any thread
 *   std::string ended = client.wait(task_id, std::chrono::seconds(60), cancel);
 *
 * What it adds to the C API, and nothing else:
 * - RAII: altogic::Client and altogic::Cancel free their handles; every string the library
 *   returns is freed by this header, whatever throws (no leak, never free()).
 * - Exceptions where C returns an error object: a client that cannot be created and a
 *   refused session token throw altogic::Error (a std::runtime_error carrying the APIError
 *   JSON and its code). Task calls do not throw for failed calls: like the C functions and
 *   the official client, they answer the JSON {"info":...,"errors":...}; read it with the
 *   JSON library of your choice.
 * - C++ strings: std::string_view arguments; one holding a NUL byte, which a C string
 *   cannot carry, throws std::invalid_argument.
 *
 * Thread-safety: one Client may be used by many threads at once (its calls run
 * concurrently); set_session is safe while other threads make calls. A Cancel may be
 * triggered from any thread while calls use it. Destroy a Client or a Cancel only when no
 * call is using it.
 */
#ifndef ALTOGIC_HPP
#define ALTOGIC_HPP

#include "altogic.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
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

} // namespace altogic

#endif /* ALTOGIC_HPP */
