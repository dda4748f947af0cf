package main

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

func TestGenerate(t *testing.T) {
	t.Parallel()

	t.Run("the same seed yields the same dataset", func(t *testing.T) {
		t.Parallel()
		if !reflect.DeepEqual(Generate(DefaultSeed), Generate(DefaultSeed)) {
			t.Fatal("two datasets from the default seed differ")
		}
	})

	t.Run("a different seed yields different data", func(t *testing.T) {
		t.Parallel()
		if reflect.DeepEqual(Generate(DefaultSeed).Customers, Generate(DefaultSeed+1).Customers) {
			t.Fatal("two different seeds produced the same customers")
		}
	})

	t.Run("rows satisfy the schema's keys and constraints", func(t *testing.T) {
		t.Parallel()
		d := Generate(DefaultSeed)
		emails, skus := map[string]bool{}, map[string]bool{}
		for _, c := range d.Customers {
			if emails[c.Email] {
				t.Errorf("duplicate email %s", c.Email)
			}
			emails[c.Email] = true
			if !strings.HasSuffix(c.Email, "@example.com") {
				t.Errorf("email %s is not in the reserved example.com domain", c.Email)
			}
		}
		price := map[int32]int32{}
		for _, p := range d.Products {
			if skus[p.SKU] {
				t.Errorf("duplicate sku %s", p.SKU)
			}
			skus[p.SKU] = true
			if p.PriceCents <= 0 || p.PriceCents%100 != 99 {
				t.Errorf("product %d price %d is not a positive .99 price", p.ID, p.PriceCents)
			}
			price[p.ID] = p.PriceCents
		}
		customers := map[int32]Customer{}
		for _, c := range d.Customers {
			customers[c.ID] = c
		}
		orders := map[int32]bool{}
		for _, o := range d.Orders {
			c, ok := customers[o.CustomerID]
			if !ok {
				t.Errorf("order %d references missing customer %d", o.ID, o.CustomerID)
			}
			if !o.PlacedAt.After(c.CreatedAt) {
				t.Errorf("order %d placed before its customer existed", o.ID)
			}
			orders[o.ID] = true
		}
		lines := map[[2]int32]bool{}
		productsInOrder := map[[2]int32]bool{}
		for _, i := range d.OrderItems {
			if !orders[i.OrderID] {
				t.Errorf("item references missing order %d", i.OrderID)
			}
			if lines[[2]int32{i.OrderID, i.Line}] {
				t.Errorf("duplicate line %d in order %d", i.Line, i.OrderID)
			}
			lines[[2]int32{i.OrderID, i.Line}] = true
			if productsInOrder[[2]int32{i.OrderID, i.ProductID}] {
				t.Errorf("order %d lists product %d twice", i.OrderID, i.ProductID)
			}
			productsInOrder[[2]int32{i.OrderID, i.ProductID}] = true
			if p, ok := price[i.ProductID]; !ok || p != i.UnitPriceCents || i.Quantity < 1 {
				t.Errorf("item %d/%d: product %d price %d quantity %d does not match the catalogue", i.OrderID, i.Line, i.ProductID, i.UnitPriceCents, i.Quantity)
			}
		}
	})

	t.Run("the first rows match the golden sample", func(t *testing.T) {
		t.Parallel()
		d := Generate(DefaultSeed)
		var b strings.Builder
		for _, c := range d.Customers[:5] {
			fmt.Fprintf(&b, "customer %d %s <%s> %s %s\n", c.ID, c.Name, c.Email, c.City, c.CreatedAt.Format("2006-01-02T15:04Z"))
		}
		for _, p := range d.Products[:5] {
			fmt.Fprintf(&b, "product %d %s %q %s %d\n", p.ID, p.SKU, p.Name, p.Category, p.PriceCents)
		}
		for _, o := range d.Orders[:5] {
			fmt.Fprintf(&b, "order %d customer %d %s %s\n", o.ID, o.CustomerID, o.Status, o.PlacedAt.Format("2006-01-02T15:04Z"))
		}
		for _, i := range d.OrderItems[:5] {
			fmt.Fprintf(&b, "item %d/%d product %d x%d at %d\n", i.OrderID, i.Line, i.ProductID, i.Quantity, i.UnitPriceCents)
		}
		golden.Assert(t, filepath.Join("testdata", "sample.golden"), b.String())
	})
}
