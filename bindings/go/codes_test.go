//go:build cgo

package altogic

import (
	"os"
	"regexp"
	"sort"
	"testing"
)

// genericCodes are the library's codes without a sentinel of their own: they are plain
// *APIError values. With the sentinels they must cover every ALTOGIC_CODE_* of the header,
// so that a code added to the library cannot leave this binding behind silently.
var genericCodes = []string{"internal_error", "error_items_dropped"}

func TestEveryErrorCodeOfTheHeaderHasAKind(t *testing.T) {
	header, err := os.ReadFile("../../include/altogic.h")
	if err != nil {
		t.Fatal(err)
	}
	inHeader := map[string]bool{}
	for _, match := range regexp.MustCompile(`#define ALTOGIC_CODE_\w+ "(\w+)"`).FindAllSubmatch(header, -1) {
		inHeader[string(match[1])] = true
	}
	if !inHeader["tls_error"] {
		t.Fatalf("the header lists no tls_error: %v", inHeader)
	}
	covered := map[string]bool{}
	for _, code := range genericCodes {
		covered[code] = true
	}
	for _, s := range []error{ErrTimeout, ErrNetwork, ErrTLS, ErrProxy, ErrInvalidArgument,
		ErrResponseTooLarge, ErrRedirectNotFollowed, ErrInvalidResponse, ErrCancelled,
		ErrExecutionNotFound} {
		for _, code := range s.(*sentinel).codes {
			covered[code] = true
		}
	}
	var missing []string
	for code := range inHeader {
		if !covered[code] {
			missing = append(missing, code)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("codes of the header without a sentinel or a place in genericCodes: %v", missing)
	}
}
