package main

import (
	"fmt"
	"net/netip"
	"testing"
)

// vpcRange returns the one VPC a deployment declared and its range.
func vpcRange(t *testing.T, d *deployment) (recorded, netip.Prefix) {
	t.Helper()
	vpcs := d.all("aws:ec2/vpc:Vpc")
	if len(vpcs) != 1 {
		t.Fatalf("declared %d VPCs, want exactly 1", len(vpcs))
	}
	p, err := netip.ParsePrefix(vpcs[0].Inputs["cidrBlock"].(string))
	if err != nil {
		t.Fatalf("vpc cidrBlock: %v", err)
	}
	return vpcs[0], p
}

// environmentRanges is every range the address plan hands out: the VPC each
// committed fixed stack declares, and each of the 256 PR slots.
func environmentRanges(t *testing.T) map[string]netip.Prefix {
	t.Helper()
	ranges := map[string]netip.Prefix{}
	for _, file := range committedStacks(t) {
		if file == "pr" {
			continue
		}
		stack, values := deployable(t, file)
		_, ranges["stack "+stack] = vpcRange(t, mustDeploy(t, stack, values))
	}
	for slot := range prSlots {
		p, err := prSlotCIDR(slot)
		if err != nil {
			t.Fatal(err)
		}
		ranges[fmt.Sprintf("pr slot %d", slot)] = p
	}
	return ranges
}

func TestAddressPlan(t *testing.T) {
	t.Parallel()

	t.Run("no two environments' ranges overlap, across stack files and all 256 slots", func(t *testing.T) {
		t.Parallel()
		ranges := environmentRanges(t)
		if len(ranges) != prSlots+len(committedStacks(t))-1 {
			t.Fatalf("collected %d ranges", len(ranges))
		}
		names := make([]string, 0, len(ranges))
		for n := range ranges {
			names = append(names, n)
		}
		for i, a := range names {
			for _, b := range names[i+1:] {
				if ranges[a].Overlaps(ranges[b]) {
					t.Errorf("%s (%s) overlaps %s (%s)", a, ranges[a], b, ranges[b])
				}
			}
		}
	})

	t.Run("fixed environments use the fixed pool and PR slots the PR pool", func(t *testing.T) {
		t.Parallel()
		for name, p := range environmentRanges(t) {
			pool := fixedPool()
			if name[:2] == "pr" {
				pool = prPool()
			}
			if !contains(pool, p) {
				t.Errorf("%s (%s) is outside %s", name, p, pool)
			}
		}
	})

	t.Run("slots are carved in order from the start of the PR pool", func(t *testing.T) {
		t.Parallel()
		for slot, want := range map[int]string{0: "10.128.0.0/20", 1: "10.128.16.0/20", 16: "10.129.0.0/20", 255: "10.143.240.0/20"} {
			if got, err := prSlotCIDR(slot); err != nil || got.String() != want {
				t.Errorf("prSlotCIDR(%d) = %s, %v; want %s", slot, got, err, want)
			}
		}
		for _, slot := range []int{-1, prSlots} {
			if _, err := prSlotCIDR(slot); err == nil {
				t.Errorf("prSlotCIDR(%d) succeeded, want an error", slot)
			}
		}
	})

	t.Run("a PR stack's VPC is its slot's block", func(t *testing.T) {
		t.Parallel()
		for _, slot := range []int{0, 255} {
			_, values := deployable(t, "pr")
			values = withValues(values, map[string]string{keySlot: fmt.Sprint(slot)})
			_, got := vpcRange(t, mustDeploy(t, "pr-42", values))
			if want, _ := prSlotCIDR(slot); got != want {
				t.Errorf("slot %d: VPC %s, want %s", slot, got, want)
			}
		}
	})

	t.Run("subnets tile inside the VPC without overlapping", func(t *testing.T) {
		t.Parallel()
		for _, vpc := range []string{"10.10.0.0/16", "10.128.0.0/20", "10.40.0.0/24"} {
			p := netip.MustParsePrefix(vpc)
			l := planSubnets(p, maxAZs)
			all := append(append([]netip.Prefix{}, l.Public...), l.Private...)
			for i, a := range all {
				if !contains(p, a) {
					t.Errorf("%s: subnet %s is outside the VPC", vpc, a)
				}
				if a.Bits() > 28 {
					t.Errorf("%s: subnet %s is smaller than AWS allows (/28)", vpc, a)
				}
				for _, b := range all[i+1:] {
					if a.Overlaps(b) {
						t.Errorf("%s: subnets %s and %s overlap", vpc, a, b)
					}
				}
			}
		}
	})
}
