package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// Environment variables the infra program sets on the seed Lambda function.
const (
	envEnvironment   = "STAGECOACH_ENVIRONMENT"
	envDBHost        = "STAGECOACH_DB_HOST"
	envDBPort        = "STAGECOACH_DB_PORT"
	envDBName        = "STAGECOACH_DB_NAME"
	envDBSecretARN   = "STAGECOACH_DB_SECRET_ARN"
	envDBSSLMode     = "STAGECOACH_DB_SSLMODE"
	envExtensionPort = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
)

// defaultExtensionPort is where the AWS Parameters and Secrets Lambda
// Extension listens unless PARAMETERS_SECRETS_EXTENSION_HTTP_PORT says otherwise.
const defaultExtensionPort = "2773"

// invocation is the payload the infra program sends (lambda.Invocation input).
type invocation struct {
	// SchemaVersion is the schema the program expects; it must match the
	// schema embedded in this binary.
	SchemaVersion string `json:"schemaVersion"`
}

// seedFunction is the Lambda handler: it reads the database credentials from
// the secret RDS manages, through the Parameters and Secrets Lambda Extension
// (plain HTTP on localhost, so the binary needs no AWS SDK), and seeds.
type seedFunction struct {
	getenv func(string) string
	client *http.Client
	logger *slog.Logger
}

// handle answers one invocation with the seed Summary as JSON.
func (f seedFunction) handle(ctx context.Context, payload []byte) ([]byte, error) {
	var in invocation
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, fmt.Errorf("decoding the invocation payload: %w", err)
		}
	}
	if in.SchemaVersion != "" && in.SchemaVersion != SchemaVersion() {
		return nil, fmt.Errorf("the program asked for schema %s but this binary carries schema %s: redeploy the seed function",
			in.SchemaVersion, SchemaVersion())
	}

	cfg, err := f.connConfig(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	summary, err := Seeder{Environment: f.getenv(envEnvironment), Logger: f.logger}.Run(ctx, conn)
	if err != nil {
		return nil, err
	}
	return json.Marshal(summary)
}

// connConfig builds the connection settings from the function's environment
// and the managed master-user secret.
func (f seedFunction) connConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	var missing []error
	for _, k := range []string{envEnvironment, envDBHost, envDBName, envDBSecretARN} {
		if f.getenv(k) == "" {
			missing = append(missing, fmt.Errorf("%s is not set", k))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, fmt.Errorf("seed function environment: %w", err)
	}
	port := valueOr(f.getenv(envDBPort), "5432")
	sslmode := valueOr(f.getenv(envDBSSLMode), "require")
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s/%s?sslmode=%s",
		net.JoinHostPort(f.getenv(envDBHost), port), url.PathEscape(f.getenv(envDBName)), url.QueryEscape(sslmode)))
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	user, password, err := f.credentials(ctx, f.getenv(envDBSecretARN))
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password = user, password
	return cfg, nil
}

// credentials fetches the RDS-managed master-user secret from the extension.
func (f seedFunction) credentials(ctx context.Context, secretARN string) (user, password string, err error) {
	endpoint := fmt.Sprintf("http://localhost:%s/secretsmanager/get?secretId=%s",
		valueOr(f.getenv(envExtensionPort), defaultExtensionPort), url.QueryEscape(secretARN))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", "", fmt.Errorf("building secret request: %w", err)
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", f.getenv("AWS_SESSION_TOKEN"))
	resp, err := f.client.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("reading database secret through the secrets extension: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("reading database secret: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("reading database secret: secrets extension answered %s", resp.Status)
	}
	var envelope struct {
		SecretString string `json:"SecretString"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return "", "", fmt.Errorf("decoding the secrets extension answer: %w", err)
	}
	var secret struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(envelope.SecretString), &secret); err != nil {
		return "", "", fmt.Errorf("decoding the database secret (want username and password): %w", err)
	}
	if secret.Username == "" {
		return "", "", errors.New("the database secret has no username")
	}
	return secret.Username, secret.Password, nil
}

func valueOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}
