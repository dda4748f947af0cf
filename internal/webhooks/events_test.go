package webhooks

import "testing"

func TestEvents(t *testing.T) {
	t.Parallel()
	handlers := eventHandlers()
	for _, e := range Events() {
		if handlers[e] == nil || MaxEventBytes(e) == 0 {
			t.Errorf("event %s: handler %v, body cap %d", e, handlers[e] != nil, MaxEventBytes(e))
		}
	}
	for e := range eventCaps {
		if e != "ping" && handlers[e] == nil {
			t.Errorf("event %s has a body cap but no handler: the bot would read its body and then fail", e)
		}
	}
	if len(Events()) != len(handlers) {
		t.Errorf("Events() = %v, the handlers %d", Events(), len(handlers))
	}
}
