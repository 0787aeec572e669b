package altogic

import (
	"bytes"
	"encoding/json"
	"time"
)

// Status is the state of a task execution.
type Status string

// The statuses of an execution: pending, then processing, then completed or errors.
const (
	StatusPending    Status = "pending"
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusErrors     Status = "errors"
)

// TaskInfo describes one execution of a scheduled task, as the service sends it.
//
// Fields the service adds beyond these are kept in Raw, the TaskInfo JSON object exactly
// as the library passed it on. A time the service sent in a form other than RFC 3339 is
// left zero (or nil) here, and is still in Raw.
type TaskInfo struct {
	// TaskID identifies this execution; pass it to GetStatus and Wait.
	TaskID string
	// ScheduledTaskID is the id of the scheduled task.
	ScheduledTaskID string
	// ScheduledTaskName is the name of the scheduled task.
	ScheduledTaskName string
	// TriggeredAt is when the execution was requested.
	TriggeredAt time.Time
	// StartedAt is when processing began, nil before.
	StartedAt *time.Time
	// CompletedAt is when the execution ended, nil before.
	CompletedAt *time.Time
	// Status is pending, processing, completed or errors.
	Status Status
	// Errors is the task's own errors as JSON when Status is StatusErrors, else nil.
	Errors json.RawMessage
	// Raw is the whole TaskInfo JSON object, unknown fields included.
	Raw json.RawMessage
}

// Done reports whether the execution has ended (completed or errors).
func (t *TaskInfo) Done() bool {
	return t.Status == StatusCompleted || t.Status == StatusErrors
}

// taskInfoWire is the JSON form of the known TaskInfo fields.
type taskInfoWire struct {
	TaskID            string          `json:"taskId"`
	ScheduledTaskID   string          `json:"scheduledTaskId"`
	ScheduledTaskName string          `json:"scheduledTaskName"`
	TriggeredAt       string          `json:"triggeredAt,omitempty"` // "" when absent or null
	StartedAt         string          `json:"startedAt,omitempty"`
	CompletedAt       string          `json:"completedAt,omitempty"`
	Status            Status          `json:"status"`
	Errors            json.RawMessage `json:"errors,omitempty"`
}

// UnmarshalJSON reads a TaskInfo object; a copy of data is kept in Raw.
func (t *TaskInfo) UnmarshalJSON(data []byte) error {
	return t.decode(append(json.RawMessage(nil), data...))
}

// decode reads the TaskInfo object data, which it keeps as Raw: data must not be reused.
func (t *TaskInfo) decode(data []byte) error {
	var w taskInfoWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*t = TaskInfo{
		TaskID:            w.TaskID,
		ScheduledTaskID:   w.ScheduledTaskID,
		ScheduledTaskName: w.ScheduledTaskName,
		StartedAt:         parseTime(w.StartedAt),
		CompletedAt:       parseTime(w.CompletedAt),
		Status:            w.Status,
		Raw:               data,
	}
	if at := parseTime(w.TriggeredAt); at != nil {
		t.TriggeredAt = *at
	}
	if len(w.Errors) > 0 && string(w.Errors) != "null" {
		t.Errors = w.Errors
	}
	return nil
}

// MarshalJSON writes Raw, the TaskInfo exactly as the service sent it; a TaskInfo made in
// Go (without Raw) is written from its fields, in the service's form.
func (t TaskInfo) MarshalJSON() ([]byte, error) {
	if len(t.Raw) > 0 {
		return t.Raw, nil
	}
	w := taskInfoWire{
		TaskID:            t.TaskID,
		ScheduledTaskID:   t.ScheduledTaskID,
		ScheduledTaskName: t.ScheduledTaskName,
		TriggeredAt:       formatTime(&t.TriggeredAt),
		StartedAt:         formatTime(t.StartedAt),
		CompletedAt:       formatTime(t.CompletedAt),
		Status:            t.Status,
		Errors:            t.Errors,
	}
	return json.Marshal(&w)
}

func formatTime(at *time.Time) string {
	if at == nil || at.IsZero() {
		return ""
	}
	return at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// parseTime reads an RFC 3339 time; nil for "" (absent or null) and any other form.
func parseTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return &at
}

// A successful call's answer, as the library writes it: compact, info first (altogic.h).
const (
	successHead = `{"info":`
	successTail = `,"errors":null}`
)

// successInfo returns the TaskInfo object of a successful call's answer, or nil when text
// is not one (an error, a null info, or any other form): then the envelope is parsed. So
// the common answer is read in one pass of encoding/json rather than two (the envelope, then
// its TaskInfo), which is a third of a goroutine's own time per call. The TaskInfo counts
// only once TaskInfo.decode accepts it as one whole JSON object: then text is exactly
// {"info":<that object>,"errors":null}, and the envelope could not have said otherwise.
func successInfo(text []byte) []byte {
	if !bytes.HasPrefix(text, []byte(successHead)) || !bytes.HasSuffix(text, []byte(successTail)) {
		return nil
	}
	raw := text[len(successHead) : len(text)-len(successTail)]
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	return raw
}

// envelope is what every task call of the library answers. The TaskInfo is read once the
// envelope is known to be well formed, by TaskInfo.decode, which keeps its bytes as Raw.
type envelope struct {
	Info   json.RawMessage `json:"info"`
	Errors *APIError       `json:"errors"`
}

// decodeResult turns a task call's JSON answer into its Go result. A wait's timeout
// answers both: the last TaskInfo seen and the error. text must not be reused: the
// TaskInfo keeps a part of it as Raw.
func decodeResult(text []byte) (*TaskInfo, error) {
	if raw := successInfo(text); raw != nil {
		info := new(TaskInfo)
		if info.decode(raw) == nil {
			return info, nil
		}
	}
	return decodeEnvelope(text)
}

// decodeEnvelope is decodeResult for any answer: the envelope first, then its TaskInfo.
func decodeEnvelope(text []byte) (*TaskInfo, error) {
	var env envelope
	if err := json.Unmarshal(text, &env); err != nil {
		// The library always answers a valid envelope; this is only a safety net.
		return nil, clientError("internal_error",
			"the library answered JSON this binding could not read: "+err.Error())
	}
	var info *TaskInfo
	if len(env.Info) > 0 && string(env.Info) != "null" {
		info = new(TaskInfo)
		if err := info.decode(env.Info); err != nil {
			return nil, clientError("internal_error",
				"the library answered a TaskInfo this binding could not read: "+err.Error())
		}
	}
	if env.Errors != nil {
		env.Errors.inGoTerms()
		return info, env.Errors
	}
	return info, nil
}

// decodeError reads an APIError object answered by altogic_client_new or
// altogic_client_set_session.
func decodeError(text []byte) error {
	var e APIError
	if err := json.Unmarshal(text, &e); err != nil {
		return clientError("internal_error",
			"the library answered an error this binding could not read: "+err.Error()+": "+string(text))
	}
	e.inGoTerms()
	return &e
}
