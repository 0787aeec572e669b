// Command runtask runs an Altogic scheduled task now and follows it to its end.
//
//	runtask ENV_URL CLIENT_KEY TASK_NAME_OR_ID [SESSION_TOKEN]
//
// It prints each status change (pending, processing, completed or errors), then the final
// TaskInfo. It exits 0 when the task completed, 1 when it ended in errors, and 2 when a
// call failed. Ctrl-C cancels the call in progress at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) < 4 || len(os.Args) > 5 {
		fmt.Fprintf(os.Stderr, "usage: %s ENV_URL CLIENT_KEY TASK_NAME_OR_ID [SESSION_TOKEN]\n", os.Args[0])
		return 2
	}
	envURL, clientKey, task := os.Args[1], os.Args[2], os.Args[3]
	opts := []altogic.Option{altogic.WithTimeout(10 * time.Second)}
	if len(os.Args) == 5 {
		opts = append(opts, altogic.WithSession(os.Args[4]))
	}
	client, err := altogic.NewClient(envURL, clientKey, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "could not create the client:", err)
		return 2
	}
	defer client.Close()

	// Ctrl-C or SIGTERM cancel the context, which ends the call in progress; give up
	// after a minute in any case.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	info, err := client.RunOnce(ctx, task)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runOnce %s failed: %v\n", task, err)
		return 2
	}
	fmt.Printf("%s: %s (execution %s)\n", task, info.Status, info.TaskID)

	// Follow the execution: Watch yields each status as the wait's polls find it change,
	// then the final TaskInfo (or the error that ended the wait).
	last := info.Status
	for next, err := range client.Watch(ctx, info.TaskID) {
		switch {
		case errors.Is(err, altogic.ErrExecutionNotFound):
			fmt.Fprintf(os.Stderr, "%s: execution %s is no longer kept by the service\n", task, info.TaskID)
			return 2
		case err != nil:
			fmt.Fprintf(os.Stderr, "waiting for %s failed: %v\n", task, err)
			return 2
		}
		info = next
		if info.Status != last {
			fmt.Printf("%s: %s\n", task, info.Status)
			last = info.Status
		}
	}

	fmt.Printf("%s: final %s\n", task, info.Raw)
	if info.Status != altogic.StatusCompleted {
		return 1
	}
	return 0
}
