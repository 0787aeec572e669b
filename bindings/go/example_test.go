//go:build cgo

package altogic_test

import (
	"context"
	"errors"
	"fmt"
	"log"
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
