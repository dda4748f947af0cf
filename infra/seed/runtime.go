package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// runtimeAPIVersion is the path prefix of the AWS Lambda runtime API.
const runtimeAPIVersion = "2018-06-01"

// handlerFunc answers one Lambda invocation: payload in, response out.
type handlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// lambdaRuntime is a minimal client of the AWS Lambda runtime API, which is all
// a custom runtime (provided.al2023) needs: fetch the next invocation, run the
// handler, post its response or error, repeat.
type lambdaRuntime struct {
	// api is host:port of the runtime API, from AWS_LAMBDA_RUNTIME_API.
	api    string
	client *http.Client
	logger *slog.Logger
}

// serve handles invocations until ctx ends or the runtime API fails.
func (r lambdaRuntime) serve(ctx context.Context, h handlerFunc) error {
	for {
		if err := r.handleNext(ctx, h); err != nil {
			return err
		}
	}
}

// handleNext waits for one invocation and reports its outcome.
func (r lambdaRuntime) handleNext(ctx context.Context, h handlerFunc) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url("/runtime/invocation/next"), nil)
	if err != nil {
		return fmt.Errorf("building next-invocation request: %w", err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("waiting for the next invocation: %w", err)
	}
	payload, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the invocation payload: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("next invocation: runtime API answered %s", resp.Status)
	}
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if id == "" {
		return fmt.Errorf("next invocation: no Lambda-Runtime-Aws-Request-Id header")
	}

	invokeCtx := ctx
	if ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err == nil {
		var cancel context.CancelFunc
		invokeCtx, cancel = context.WithDeadline(ctx, time.UnixMilli(ms))
		defer cancel()
	}

	out, herr := h(invokeCtx, payload)
	if herr != nil {
		r.logger.Error("invocation failed", "request_id", id, "error", herr)
		body, _ := json.Marshal(map[string]string{"errorMessage": herr.Error(), "errorType": "SeedError"})
		return r.post(ctx, "/runtime/invocation/"+id+"/error", body, "SeedError")
	}
	return r.post(ctx, "/runtime/invocation/"+id+"/response", out, "")
}

// post sends an invocation's response or error to the runtime API.
func (r lambdaRuntime) post(ctx context.Context, path string, body []byte, errorType string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url(path), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building %s request: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if errorType != "" {
		req.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting %s: %w", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("posting %s: runtime API answered %s", path, resp.Status)
	}
	return nil
}

func (r lambdaRuntime) url(path string) string {
	return "http://" + r.api + "/" + runtimeAPIVersion + path
}
