// Command seed applies the sample schema and loads deterministic sample data
// into a non-production Postgres database.
//
// Locally:
//
//	go run ./infra/seed --database-url postgres://… [--environment dev] [--seed N]
//
// In AWS the same binary is the bootstrap of a provided.al2023 Lambda function:
// when AWS_LAMBDA_RUNTIME_API is set it serves invocations instead of reading
// flags (see function.go for the environment it expects).
//
// It refuses a database whose comment (COMMENT ON DATABASE) contains the word
// "production", and the environment names "prod" and "production". Re-running
// it is safe: the schema is created if missing and every seeded row is upserted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	if api := getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		fn := seedFunction{getenv: getenv, client: &http.Client{Timeout: 10 * time.Second}, logger: logger}
		// The next-invocation request blocks until work arrives: no client timeout.
		err := lambdaRuntime{api: api, client: &http.Client{}, logger: logger}.serve(ctx, fn.handle)
		if !errors.Is(err, context.Canceled) {
			logger.Error("lambda runtime stopped", "error", err)
			return 1
		}
		return 0
	}

	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	databaseURL := fs.String("database-url", "", "Postgres URL of the database to seed (required)")
	environment := fs.String("environment", "local", `name of the target environment; "prod" and "production" are refused`)
	seed := fs.Uint64("seed", DefaultSeed, "random seed of the sample data")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *databaseURL == "" || fs.NArg() > 0 {
		_, _ = fmt.Fprintln(stderr, "usage: seed --database-url postgres://… [--environment NAME] [--seed N]")
		return 2
	}

	conn, err := pgx.Connect(ctx, *databaseURL)
	if err != nil {
		// pgx redacts the password in its connection errors.
		logger.Error("connecting to the database failed: check --database-url", "error", err)
		return 1
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	summary, err := Seeder{Seed: *seed, Environment: *environment, Logger: logger}.Run(ctx, conn)
	if err != nil {
		logger.Error("seeding failed", "error", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(summary); err != nil {
		logger.Error("writing the summary failed", "error", err)
		return 1
	}
	return 0
}
