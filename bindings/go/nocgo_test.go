//go:build !cgo

package altogic

import (
	"context"
	"errors"
	"testing"
)

// Built without cgo, the package compiles and every call says cgo is required.
func TestWithoutCgo(t *testing.T) {
	c, err := NewClient("http://127.0.0.1:1", "key")
	if c != nil || !errors.Is(err, ErrCgoRequired) {
		t.Fatalf("NewClient = %v, %v; want nil and ErrCgoRequired", c, err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 0 || apiErr.Items[0].Code != "cgo_required" {
		t.Fatalf("error %#v is not an APIError with code cgo_required", err)
	}
	var zero Client
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"RunOnce":    func() error { _, err := zero.RunOnce(ctx, "x"); return err },
		"GetStatus":  func() error { _, err := zero.GetStatus(ctx, "x"); return err },
		"Wait":       func() error { _, err := zero.Wait(ctx, "x"); return err },
		"SetSession": func() error { return zero.SetSession("x") },
		"Watch": func() error {
			n := 0
			var last error
			for info, err := range zero.Watch(ctx, "x") {
				n++
				if info != nil {
					return errors.New("a TaskInfo without cgo")
				}
				last = err
			}
			if n != 1 {
				return errors.New("not one result")
			}
			return last
		},
	} {
		if err := call(); !errors.Is(err, ErrCgoRequired) {
			t.Errorf("%s: %v, want ErrCgoRequired", name, err)
		}
	}
	if zero.Session() != "" || Version() != "" || zero.Close() != nil {
		t.Error("Session, Version or Close misbehave without cgo")
	}
}
