package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runtimeAPI is an in-process AWS Lambda runtime API: it hands out the
// invocations a test queues and reports what the function posted back.
type runtimeAPI struct {
	queue   chan queued
	results chan posted
}

type queued struct {
	id      string
	payload []byte
}

type posted struct {
	id        string
	outcome   string // "response" or "error"
	errorType string
	body      []byte
}

func newRuntimeAPI(t *testing.T) (*runtimeAPI, string) {
	t.Helper()
	api := &runtimeAPI{queue: make(chan queued, 4), results: make(chan posted, 4)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case q := <-api.queue:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", q.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			_, _ = w.Write(q.payload)
		case <-r.Context().Done():
		}
	})
	for _, outcome := range []string{"response", "error"} {
		mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/"+outcome, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			api.results <- posted{id: r.PathValue("id"), outcome: outcome, errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type"), body: body}
			w.WriteHeader(http.StatusAccepted)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return api, strings.TrimPrefix(srv.URL, "http://")
}

// serveUntilResult runs serve, queues one invocation, waits for the posted
// outcome, then stops serve and checks it stopped because it was cancelled.
func serveUntilResult(t *testing.T, api *runtimeAPI, serve func(ctx context.Context) error, payload []byte) posted {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	api.queue <- queued{id: "req-1", payload: payload}
	var got posted
	select {
	case got = <-api.results:
	case err := <-done:
		cancel()
		t.Fatalf("serve stopped before posting a result: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("serve returned %v after cancellation, want context.Canceled", err)
	}
	return got
}

func TestLambdaRuntime(t *testing.T) {
	t.Parallel()

	t.Run("posts the handler's answer as the invocation response", func(t *testing.T) {
		t.Parallel()
		api, addr := newRuntimeAPI(t)
		rt := lambdaRuntime{api: addr, client: &http.Client{}, logger: quietLogger()}
		var deadline time.Time
		h := func(ctx context.Context, payload []byte) ([]byte, error) {
			deadline, _ = ctx.Deadline()
			return bytes.ToUpper(payload), nil
		}
		got := serveUntilResult(t, api, func(ctx context.Context) error { return rt.serve(ctx, h) }, []byte(`"hello"`))
		if got.id != "req-1" || got.outcome != "response" || string(got.body) != `"HELLO"` {
			t.Errorf("posted %+v, want response \"HELLO\" for req-1", got)
		}
		if deadline.IsZero() {
			t.Error("the handler's context has no deadline from Lambda-Runtime-Deadline-Ms")
		}
	})

	t.Run("posts a handler error to the error endpoint", func(t *testing.T) {
		t.Parallel()
		api, addr := newRuntimeAPI(t)
		rt := lambdaRuntime{api: addr, client: &http.Client{}, logger: quietLogger()}
		h := func(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") }
		got := serveUntilResult(t, api, func(ctx context.Context) error { return rt.serve(ctx, h) }, nil)
		if got.outcome != "error" || got.errorType != "SeedError" || !strings.Contains(string(got.body), "boom") {
			t.Errorf("posted %+v, want an error carrying boom", got)
		}
	})
}

// secretsExtension is an in-process AWS Parameters and Secrets Lambda
// Extension that serves one secret to callers presenting the session token.
func secretsExtension(t *testing.T, secretARN, token, user, password string) string {
	t.Helper()
	secret, _ := json.Marshal(map[string]string{"username": user, "password": password})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/secretsmanager/get" || r.URL.Query().Get("secretId") != secretARN {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("X-Aws-Parameters-Secrets-Token") != token {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"ARN": secretARN, "SecretString": string(secret)})
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	return port
}

func TestLambdaSeeding(t *testing.T) {
	t.Parallel()
	const secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-abc"

	// lambdaEnv is the environment the infra program gives the function.
	lambdaEnv := func(t *testing.T, databaseURL, runtimeAddr string) func(string) string {
		u, err := url.Parse(databaseURL)
		if err != nil {
			t.Fatal(err)
		}
		password, _ := u.User.Password()
		env := map[string]string{
			"AWS_LAMBDA_RUNTIME_API": runtimeAddr,
			"AWS_SESSION_TOKEN":      "session-token",
			envExtensionPort:         secretsExtension(t, secretARN, "session-token", u.User.Username(), password),
			envEnvironment:           "pr-3",
			envDBHost:                u.Hostname(),
			envDBPort:                u.Port(),
			envDBName:                strings.TrimPrefix(u.Path, "/"),
			envDBSecretARN:           secretARN,
			envDBSSLMode:             u.Query().Get("sslmode"),
		}
		return func(k string) string { return env[k] }
	}

	t.Run("an invocation seeds the database with credentials from the extension", func(t *testing.T) {
		t.Parallel()
		databaseURL := freshDatabase(t)
		api, addr := newRuntimeAPI(t)
		getenv := lambdaEnv(t, databaseURL, addr)
		payload, _ := json.Marshal(invocation{SchemaVersion: SchemaVersion()})
		got := serveUntilResult(t, api, func(ctx context.Context) error {
			if code := run(ctx, nil, getenv, io.Discard, io.Discard); code != 0 {
				return errors.New("run exited " + strconv.Itoa(code))
			}
			return context.Canceled
		}, payload)
		if got.outcome != "response" {
			t.Fatalf("invocation failed: %s", got.body)
		}
		var summary Summary
		if err := json.Unmarshal(got.body, &summary); err != nil {
			t.Fatalf("response is not a summary: %v: %s", err, got.body)
		}
		if summary.Environment != "pr-3" || summary.SchemaVersion != SchemaVersion() {
			t.Errorf("summary = %+v, want environment pr-3 and schema %s", summary, SchemaVersion())
		}
		if state := observe(t, connect(t, databaseURL)); state["orders"].Rows != len(Generate(DefaultSeed).Orders) {
			t.Errorf("orders = %d rows after the invocation, want %d", state["orders"].Rows, len(Generate(DefaultSeed).Orders))
		}
	})

	t.Run("an invocation for another schema version fails without touching the database", func(t *testing.T) {
		t.Parallel()
		api, addr := newRuntimeAPI(t)
		// No database is needed: the handler must stop before connecting.
		getenv := lambdaEnv(t, "postgres://nobody@127.0.0.1:1/none?sslmode=disable", addr)
		fn := seedFunction{getenv: getenv, client: &http.Client{}, logger: quietLogger()}
		rt := lambdaRuntime{api: addr, client: &http.Client{}, logger: quietLogger()}
		got := serveUntilResult(t, api, func(ctx context.Context) error { return rt.serve(ctx, fn.handle) },
			[]byte(`{"schemaVersion":"0000000000000000"}`))
		if got.outcome != "error" || !strings.Contains(string(got.body), "redeploy the seed function") {
			t.Errorf("posted %+v, want a schema mismatch error", got)
		}
	})

	t.Run("a missing function environment is reported by name", func(t *testing.T) {
		t.Parallel()
		fn := seedFunction{getenv: func(string) string { return "" }, client: &http.Client{}, logger: quietLogger()}
		_, err := fn.handle(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), envDBSecretARN) || !strings.Contains(err.Error(), envDBHost) {
			t.Errorf("handle error = %v, want every missing variable named", err)
		}
	})
}
