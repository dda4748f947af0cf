package engine

import (
	"reflect"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// collector builds a Result's counts, changes and errors from one engine run's event stream.
//
// The Automation API hands events over an unbuffered channel and closes it only when the CLI's event
// stream ends — which never happens when the CLI fails before the engine starts (a locked stack, say).
// By the time Preview/Up/… return, every event has been handed over, so finish stops the reader
// instead of waiting for a close that may not come.
type collector struct {
	ch   chan events.EngineEvent
	stop chan struct{}
	done chan struct{}
	m    *masker

	mu      sync.Mutex
	order   []string         // URNs in the order the engine first reported them
	steps   map[string]*step // by URN
	diags   []string         // error diagnostics, masked, without duplicates
	stderr  []string         // lines the program wrote to standard error, masked, without duplicates
	summary *apitype.SummaryEvent
}

// maxStderrLines bounds the program output kept as the explanation of a failure.
const maxStderrLines = 20

// step is what happened to one resource; replacements arrive as several engine steps.
type step struct {
	ops  map[apitype.OpType]bool
	last apitype.OpType
	meta apitype.StepEventMetadata // the most detailed metadata seen
}

func newCollector(m *masker) *collector {
	c := &collector{
		ch:    make(chan events.EngineEvent),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		m:     m,
		steps: map[string]*step{},
	}
	go c.read()
	return c
}

func (c *collector) read() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case e, ok := <-c.ch:
			if !ok {
				return
			}
			c.handle(e)
		}
	}
}

// finish stops reading; call it after the operation returned.
func (c *collector) finish() {
	close(c.stop)
	<-c.done
}

func (c *collector) handle(e events.EngineEvent) {
	if e.Error != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case e.ResourcePreEvent != nil:
		c.record(e.ResourcePreEvent.Metadata)
	case e.ResOutputsEvent != nil:
		c.record(e.ResOutputsEvent.Metadata)
	case e.ResOpFailedEvent != nil:
		c.record(e.ResOpFailedEvent.Metadata)
	case e.DiagnosticEvent != nil && e.DiagnosticEvent.Severity == "error":
		msg := strings.TrimSpace(c.m.mask(stripANSI(e.DiagnosticEvent.Message)))
		if msg != "" && !contains(c.diags, msg) {
			c.diags = append(c.diags, msg)
		}
	case e.DiagnosticEvent != nil && e.DiagnosticEvent.Severity == "info#err":
		// The program's standard error: where language hosts report a program that fails to load.
		for _, line := range strings.Split(c.m.mask(stripANSI(e.DiagnosticEvent.Message)), "\n") {
			if line = strings.TrimSpace(line); line != "" && !contains(c.stderr, line) && len(c.stderr) < maxStderrLines {
				c.stderr = append(c.stderr, line)
			}
		}
	case e.SummaryEvent != nil:
		s := *e.SummaryEvent
		c.summary = &s
	}
}

func (c *collector) record(meta apitype.StepEventMetadata) {
	if meta.URN == "" {
		return
	}
	s, ok := c.steps[meta.URN]
	if !ok {
		s = &step{ops: map[apitype.OpType]bool{}}
		c.steps[meta.URN] = s
		c.order = append(c.order, meta.URN)
	}
	s.ops[meta.Op] = true
	s.last = meta.Op
	// The replace step carries the diff of a replacement; otherwise the latest event is the most complete.
	if s.meta.Op != apitype.OpReplace || meta.Op == apitype.OpReplace {
		s.meta = meta
	}
}

// fill writes counts, changes and error diagnostics into res.
func (c *collector) fill(res *Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res.Counts = map[Op]int{}
	res.Changes = nil
	for _, urn := range c.order {
		s := c.steps[urn]
		if isDefaultProvider(urn) {
			continue
		}
		op := s.op()
		if op == "" {
			continue
		}
		res.Counts[op]++
		if op == OpSame {
			continue
		}
		u := resource.URN(urn)
		rc := ResourceChange{URN: urn, Type: s.meta.Type, Name: urn, Op: op}
		if u.IsValid() {
			rc.Type, rc.Name = string(u.Type()), u.Name()
		}
		if op == OpUpdate || op == OpReplace {
			rc.Diffs = propertyDiffs(s.meta, c.m)
		}
		res.Changes = append(res.Changes, rc)
	}
	res.Errors = append([]string(nil), c.diags...)
}

// programErrors is what the program wrote to standard error, as one message ("" if nothing): the
// explanation of a failure that produced no error diagnostic.
func (c *collector) programErrors() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.stderr, "\n")
}

// op folds the engine's steps for one resource into one Op; "" means nothing to count.
func (s *step) op() Op {
	for _, o := range []apitype.OpType{apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDeleteReplaced,
		apitype.OpReadReplacement, apitype.OpImportReplacement, apitype.OpDiscardReplaced} {
		if s.ops[o] {
			return OpReplace
		}
	}
	switch s.last {
	case apitype.OpCreate, apitype.OpImport:
		return OpCreate
	case apitype.OpUpdate:
		return OpUpdate
	case apitype.OpDelete, apitype.OpReadDiscard:
		return OpDelete
	case apitype.OpRead:
		// Reading an existing resource changes nothing, unless the program now reads a different one.
		if s.meta.Old != nil && s.meta.New != nil && !reflect.DeepEqual(s.meta.Old.Inputs, s.meta.New.Inputs) {
			return OpUpdate
		}
		return OpSame
	case apitype.OpSame:
		return OpSame
	case apitype.OpRefresh:
		// A refresh step changed something when the resource's state drifted or it is gone.
		switch {
		case s.meta.New == nil:
			return OpDelete
		case len(s.meta.DetailedDiff) > 0 || len(s.meta.Diffs) > 0:
			return OpUpdate
		}
		return OpSame
	case apitype.OpRemovePendingReplace:
		return ""
	}
	return OpSame
}

// isDefaultProvider reports URNs of default providers, which Pulumi leaves out of its summaries too.
func isDefaultProvider(urn string) bool {
	u := resource.URN(urn)
	if !u.IsValid() || !strings.HasPrefix(string(u.Type()), "pulumi:providers:") {
		return false
	}
	name := u.Name()
	return name == "default" || strings.HasPrefix(name, "default_")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
