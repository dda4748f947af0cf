package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// The address plan (README.md, "Address plan"):
//
//	10.0.0.0/8     environment space: nothing outside an environment may overlap it
//	10.0.0.0/9     fixed environments, one /16 each (dev 10.10, staging 10.20, prod 10.30)
//	10.128.0.0/9   reserved for PR environments
//	10.128.0.0/12  the 256 PR slots in use, one /20 per stagecoach:slot
const (
	// prSlots is how many PR environments can exist at once.
	prSlots = 256
	// prSlotBits is the prefix length of one PR environment's VPC.
	prSlotBits = 20
)

// NAT gateway layouts (network.natGateways).
const (
	natSingle = "single"
	natPerAZ  = "perAz"
)

func environmentSpace() netip.Prefix { return netip.MustParsePrefix("10.0.0.0/8") }
func fixedPool() netip.Prefix        { return netip.MustParsePrefix("10.0.0.0/9") }
func prPool() netip.Prefix           { return netip.MustParsePrefix("10.128.0.0/9") }

// prSlotCIDR is the VPC range of the PR environment in slot: the slot-th /20
// of the PR pool.
func prSlotCIDR(slot int) (netip.Prefix, error) {
	if slot < 0 || slot >= prSlots {
		return netip.Prefix{}, fmt.Errorf("slot %d is outside 0–%d", slot, prSlots-1)
	}
	return subprefix(prPool(), prSlotBits, slot), nil
}

// vpcCIDR is the stack's VPC range: configured on fixed environments, carved
// from the PR pool by slot on PR stacks. The config is validated already.
func (c Config) vpcCIDR() netip.Prefix {
	if c.IsPR() {
		p, _ := prSlotCIDR(c.Slot)
		return p
	}
	return netip.MustParsePrefix(c.Network.VPCCIDR)
}

// subnetLayout is one VPC's subnets, one public and one private per zone.
type subnetLayout struct {
	Public  []netip.Prefix
	Private []netip.Prefix
}

// planSubnets splits a /p VPC into quarters: the first quarter holds the
// public subnets (/p+4 each, for the load balancer and NAT gateways), and each
// following quarter is one zone's private subnet (/p+2, for tasks, the
// database and the seed job). It supports up to three zones.
func planSubnets(vpc netip.Prefix, azCount int) subnetLayout {
	var l subnetLayout
	for i := range azCount {
		l.Public = append(l.Public, subprefix(vpc, vpc.Bits()+4, i))
		l.Private = append(l.Private, subprefix(vpc, vpc.Bits()+2, i+1))
	}
	return l
}

// subprefix is the index-th prefix of length bits inside parent.
func subprefix(parent netip.Prefix, bits, index int) netip.Prefix {
	base := parent.Masked().Addr().As4()
	n := binary.BigEndian.Uint32(base[:]) + uint32(index)<<(32-bits)
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], n)
	return netip.PrefixFrom(netip.AddrFrom4(out), bits)
}

// contains reports whether inner lies entirely inside outer.
func contains(outer, inner netip.Prefix) bool {
	return inner.Bits() >= outer.Bits() && outer.Contains(inner.Addr())
}
