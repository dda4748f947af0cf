package bot_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// BenchmarkWebhookDelivery measures the request path of one acted-on delivery: signature
// check, decoding, and the transaction that stores it and enqueues its job. GitHub gives up
// after 10 s; the goal is a few milliseconds.
func BenchmarkWebhookDelivery(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			bt := newWorld(b, bottest.Database(e.NewOptions(b))).NewBot(bottest.BotOptions{Replica: "bench"})
			defer bt.Stop()
			srv := httptest.NewServer(bt.Handler())
			defer srv.Close()
			body := `{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"sha":"abc"}},` +
				`"repository":{"full_name":"acme/shop","default_branch":"main"},"installation":{"id":42},"sender":{"login":"dev","type":"User"}}`
			sig := sign(body)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/github", strings.NewReader(body))
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
				req.Header.Set("X-Hub-Signature-256", sig)
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
