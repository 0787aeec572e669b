//go:build !cgo

package altogic

import (
	"context"
	"iter"
)

// This file is built when cgo is off (CGO_ENABLED=0): the library cannot be called, so
// the package compiles and every call answers an error matching ErrCgoRequired.

// Client is a client of one Altogic app environment. Built without cgo it cannot be
// created: [NewClient] answers an error matching [ErrCgoRequired].
type Client struct{}

func errCgo() error {
	return clientError(codeCgoRequired,
		"this program was built with CGO_ENABLED=0; the altogic package calls libaltogic "+
			"through cgo: build with CGO_ENABLED=1 and a C compiler")
}

// Version returns "" when built without cgo.
func Version() string { return "" }

// NewClient answers an error matching [ErrCgoRequired] when built without cgo.
func NewClient(envURL, clientKey string, opts ...Option) (*Client, error) {
	return nil, errCgo()
}

// Close does nothing and returns nil.
func (c *Client) Close() error { return nil }

// RunOnce answers an error matching [ErrCgoRequired] when built without cgo.
func (c *Client) RunOnce(ctx context.Context, nameOrID string) (*TaskInfo, error) {
	return nil, errCgo()
}

// GetStatus answers an error matching [ErrCgoRequired] when built without cgo.
func (c *Client) GetStatus(ctx context.Context, taskID string) (*TaskInfo, error) {
	return nil, errCgo()
}

// Wait answers an error matching [ErrCgoRequired] when built without cgo.
func (c *Client) Wait(ctx context.Context, taskID string) (*TaskInfo, error) {
	return nil, errCgo()
}

// Watch yields one error matching [ErrCgoRequired] when built without cgo.
func (c *Client) Watch(ctx context.Context, taskID string) iter.Seq2[*TaskInfo, error] {
	return func(yield func(*TaskInfo, error) bool) { yield(nil, errCgo()) }
}

// SetSession answers an error matching [ErrCgoRequired] when built without cgo.
func (c *Client) SetSession(token string) error { return errCgo() }

// Session returns "" when built without cgo.
func (c *Client) Session() string { return "" }
