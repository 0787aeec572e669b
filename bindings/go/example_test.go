//go:build cgo

package altogic_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

// Runs a task and waits for it to end, for at most a minute. (Compiled, not run: it needs
// a service.)
func Example() {
	client, err := altogic.NewClient("https://myapp.c1-na.altogic.com", "my-client-key",
		altogic.WithAPIKey("my-api-key"), altogic.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := client.RunOnce(ctx, "billOnDemand")
	if err != nil {
		log.Fatal(err)
	}
	done, err := client.Wait(ctx, info.TaskID)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && done != nil:
		fmt.Println("still running; last status:", done.Status) // the last TaskInfo seen
	case errors.Is(err, altogic.ErrExecutionNotFound):
		fmt.Println("the service no longer keeps this execution")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(done.Status, done.CompletedAt)
	}
}

// Tells error kinds apart with errors.Is and errors.As.
func ExampleAPIError() {
	client, err := altogic.NewClient("http://127.0.0.1:1", "my-client-key")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	_, err = client.RunOnce(context.Background(), "billOnDemand")
	var apiErr *altogic.APIError
	switch {
	case errors.Is(err, altogic.ErrNetwork):
		fmt.Println("cannot reach the service")
	case errors.As(err, &apiErr) && apiErr.Status == 401:
		fmt.Println("wrong keys:", apiErr.Items[0].Code)
	}
	// Output: cannot reach the service
}

// Follows an execution, printing each status as it changes. (Compiled, not run.)
func ExampleClient_Watch() {
	client, err := altogic.NewClient("https://myapp.c1-na.altogic.com", "my-client-key")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := client.RunOnce(ctx, "billOnDemand")
	if err != nil {
		log.Fatal(err)
	}
	for info, err := range client.Watch(ctx, info.TaskID) {
		if err != nil {
			log.Fatal(err) // the last result: what ended the wait
		}
		fmt.Println(info.Status) // pending, processing, then completed or errors
	}
}

// Sends the library's records about one client, each request included, to a logger of
// its own as JSON lines. (Compiled, not run.)
func ExampleWithLogger() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := altogic.NewClient("https://myapp.c1-na.altogic.com", "my-client-key",
		altogic.WithLogger(logger.With("component", "altogic")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	// {"time":...,"level":"DEBUG","msg":"POST /_api/rest/v1/task","component":"altogic",
	//  "event":"request","client":1,"method":"POST","path":"/_api/rest/v1/task",
	//  "status":201,"ms":48.2,"attempt":1,"connection":"new"}
	_, _ = client.RunOnce(context.Background(), "billOnDemand")
}
